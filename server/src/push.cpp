// Pushes (push.hpp): the sources of one connection's services.
#include "protos7/server/push.hpp"

#include <algorithm>

namespace protos7::server {

bool services::add_push_source(push_source& s) noexcept {
  if (push_source_count_ == push_sources_.size()) return false;
  push_sources_[push_source_count_++] = &s;
  return true;
}

push_clock::time_point services::next_push() const noexcept {
  push_clock::time_point due = push_never;
  for (std::size_t i = 0; i < push_source_count_; ++i)
    due = std::min(due, push_sources_[i]->next_due());
  return due;
}

void services::push(const push_context& ctx, push_sink& out) {
  for (std::size_t i = 0; i < push_source_count_; ++i)
    if (push_sources_[i]->next_due() <= ctx.now) push_sources_[i]->push(ctx, out);
}

}  // namespace protos7::server
