// Learning the CPU's alarm list ("alarms", docs/PROFILE.md) from the message and alarm services
// of a capture: the ALARM query answers (each alarm's event id, alarm type, signal state and
// acknowledgement state when first queried) and the ALARM_8 / ALARM_S / NOTIFY indications the
// CPU pushed (the kind of alarms no query showed, and the associated values: their transport
// sizes and the bytes of the first indication, kept as constants). Bounded by max_alarms.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protos7/codec/reader.hpp"
#include "protos7/server/profile.hpp"

namespace protos7::learn {

class alarm_learner {
 public:
  // The data (payload of the data unit) of an ALARM query answer; `where` names its frame.
  void query_answer(codec::bytes payload, const std::string& where);
  // The data of an indication of `subfunction` pushed by the CPU.
  void indication(std::uint8_t subfunction, codec::bytes payload, const std::string& where);

  [[nodiscard]] const std::vector<server::profile_alarm>& alarms() const noexcept {
    return alarms_;
  }
  // Where each alarm was first seen, in the order of alarms().
  [[nodiscard]] const std::vector<std::string>& sources() const noexcept { return sources_; }

 private:
  server::profile_alarm* find(std::uint32_t event_id);
  server::profile_alarm* add(std::uint32_t event_id, server::alarm_kind k,
                             const std::string& where);

  std::vector<server::profile_alarm> alarms_;
  std::vector<std::string> sources_;
  std::vector<bool> has_values_;  // values taken from an indication already
};

}  // namespace protos7::learn
