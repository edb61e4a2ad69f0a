#include "alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<std::size_t> in_use{0};
std::atomic<std::size_t> peak{0};
// Each block carries its size in front (16 bytes keep the alignment of operator new).
constexpr std::size_t header = 16;

void* counted_alloc(std::size_t n) noexcept {
  void* p = std::malloc(n + header);
  if (p == nullptr) return nullptr;
  *static_cast<std::size_t*>(p) = n;
  const std::size_t now = in_use.fetch_add(n, std::memory_order_relaxed) + n;
  std::size_t seen = peak.load(std::memory_order_relaxed);
  while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
  return static_cast<char*>(p) + header;
}

void counted_free(void* q) noexcept {
  if (q == nullptr) return;
  void* p = static_cast<char*>(q) - header;
  in_use.fetch_sub(*static_cast<std::size_t*>(p), std::memory_order_relaxed);
  std::free(p);
}

void* throwing_alloc(std::size_t n) {
  void* p = counted_alloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

namespace p7test {
std::size_t reset_peak_heap() noexcept {
  const std::size_t now = in_use.load();
  peak.store(now);
  return now;
}
std::size_t peak_heap() noexcept {
  return peak.load();
}
}  // namespace p7test

void* operator new(std::size_t n) {
  return throwing_alloc(n);
}
void* operator new[](std::size_t n) {
  return throwing_alloc(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n);
}
void operator delete(void* p) noexcept {
  counted_free(p);
}
void operator delete[](void* p) noexcept {
  counted_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  counted_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  counted_free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  counted_free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  counted_free(p);
}
