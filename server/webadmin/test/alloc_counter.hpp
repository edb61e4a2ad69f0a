// Heap bytes in use and their peak, counted by the replaced global operator new / delete of
// alloc_counter.cpp (the whole webadmin_test process: every thread).
#pragma once

#include <cstddef>

namespace p7test {

// Restarts the peak at the bytes in use now; returns them.
std::size_t reset_peak_heap() noexcept;
// The most bytes in use at once since reset_peak_heap().
std::size_t peak_heap() noexcept;

}  // namespace p7test
