// Counting replacement of the global operator new / delete, for the zero-allocation tests.
// Include it in exactly one file of a test binary (it defines the replacement functions).
// p7alloc::arm() starts counting, disarm() stops and returns the count since arm().
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

// The replacement operator new is malloc-backed, so its delete frees with free(); gcc cannot
// see that pairing across the replacement and warns.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace p7alloc {
inline std::atomic<bool> armed{false};
inline std::atomic<std::size_t> count{0};
inline void arm() {
  count.store(0);
  armed.store(true);
}
inline std::size_t disarm() {
  armed.store(false);
  return count.load();
}
inline void note() {
  if (armed.load(std::memory_order_relaxed)) count.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace p7alloc

void* operator new(std::size_t n) {
  p7alloc::note();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return ::operator new(n);
}
// Every form is replaced, so every allocation is counted and every pair is malloc/free (the
// library's temporary buffers use the nothrow form; ASan checks the pairing).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  p7alloc::note();
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return ::operator new(n, t);
}
void* operator new(std::size_t n, std::align_val_t a) {
  p7alloc::note();
  const std::size_t al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return ::operator new(n, a);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
