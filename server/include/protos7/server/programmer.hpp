// Programmer commands (Userdata group 1, the CPU's "test and installation functions"): what the
// watch tables and block status of STEP 7 and TIA Portal ask a CPU, and Flash LED. One
// `programmer` per connection (owned by its services); the job list is the CPU's, in plc_state.
//
// How the captured S7-300 answered (docs/PROGRAMMER.md has every rule with its frame):
//  - a set-up (variable status, block status v2, modify variable) gets a job number: the answer's
//    sequence number, error 0, data 0A 00 0000 (step7_s300_readVarTab.pcapng frames 1 / 2);
//  - Enable job names it (function, number); the answer (sequence number: the lowest free job
//    number) is followed by one push of the job's results, after which the job is idle again:
//    Disable job then answers 0xD0A5 (readVarTab frames 4 / 5 / 7 and 527-545);
//  - Delete job, Read job list (the list shows the request itself: readDiagData frame 14), Flash
//    LED (tia_s300_flashLed.pcapng frames 1 / 2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "protos7/codec/ud_tis.hpp"
#include "protos7/codec/userdata.hpp"
#include "protos7/codec/writer.hpp"
#include "protos7/server/memory.hpp"
#include "protos7/server/plc_state.hpp"
#include "protos7/server/push.hpp"

namespace protos7::server {

// The errors of the programmer commands (Wireshark 4.0's texts; which request gets which is in
// docs/PROGRAMMER.md).
namespace tis_error {
inline constexpr std::uint16_t not_supported = 0xD003;     // debugging function not supported
inline constexpr std::uint16_t job_length = 0xD033;        // wrong job length
inline constexpr std::uint16_t param_coding = 0xD03F;      // error in parameter section
inline constexpr std::uint16_t tag_address = 0xD042;       // illegal tag address
inline constexpr std::uint16_t data_coding = 0xD05F;       // error in data section
inline constexpr std::uint16_t job_list_full = 0xD062;     // job list full
inline constexpr std::uint16_t result_too_long = 0xD064;   // no room for a result buffer
inline constexpr std::uint16_t mode = 0xD081;              // not permitted in current mode
inline constexpr std::uint16_t protection = 0xD0A1;        // not permitted at protection level
inline constexpr std::uint16_t job_not_found = 0xD0A5;     // referenced job not found
inline constexpr std::uint16_t other_connection = 0xD0AE;  // job of another connection
}  // namespace tis_error

// Where a watch table address (ud_tis.hpp item_address) points in memory: the area codes of
// plc_memory::locate (0x83 M, 0x81 I, 0x82 Q, 0x80 PI, 0x84 DB, 0x1D T, 0x1C C), the bytes (a
// timer or counter is a word at 2 x its number), and for a bit address its bit.
struct tis_place {
  std::uint8_t area = 0;
  std::uint16_t db = 0;
  std::size_t offset = 0, length = 0;
  bool bit = false;
  std::uint8_t bit_no = 0;
};
// nullopt: an area the watch tables do not address (0xD042 at set-up).
[[nodiscard]] std::optional<tis_place> tis_place_of(const codec::s7::tis::item_address& a) noexcept;

// The answer to one programmer command: the Userdata response's error code, sequence number and
// data unit (return code 0xFF with the `length` payload bytes written, or 0x0A without data).
struct tis_answer {
  std::uint16_t error = 0;
  std::uint8_t seq = 0;
  std::uint8_t rc = 0x0A;
  std::size_t length = 0;
};

// What the connection may do now.
struct tis_rights {
  std::uint8_t protection = 1;  // services::effective_protection()
  std::uint16_t pdu_size = 240;
};

// The pushes of its jobs go out through the connection's push sources (push.hpp): an Enable job
// makes the job due at once, and the loop sends its push right after the answer, as the captured
// CPU did (readVarTab frames 5 and 7, 1 ms apart).
class programmer final : public push_source {
 public:
  explicit programmer(plc_state& st);
  ~programmer();  // the connection's jobs end with it
  programmer(const programmer&) = delete;
  programmer& operator=(const programmer&) = delete;

  [[nodiscard]] push_clock::time_point next_due() const noexcept override;
  // Sends the pushes this connection's jobs owe (push.hpp); a push the output bound dropped is
  // sent again later.
  void push(const push_context& ctx, push_sink& out) override;

  // Answers programmer command `subfunction` (its data unit payload); an answer payload is
  // written into `out`. Changes nothing when it answers an error.
  tis_answer handle(std::uint8_t subfunction, codec::bytes payload, const tis_rights& r,
                    codec::mutable_bytes out);
  // The job's trigger: writes its results (the push's data unit payload) into `out` and returns
  // their size; 0 when the job has nothing to push (block status: protos7 runs no program). A
  // modify job writes its values to memory here (the push leaves after the group commit).
  std::size_t trigger(const test_job& j, codec::mutable_bytes out);

 private:
  tis_answer set_up(std::uint8_t sub, codec::bytes payload, const tis_rights& r);
  tis_answer enable(std::uint8_t sub, codec::bytes payload);
  tis_answer remove(codec::bytes payload);
  tis_answer replace(codec::bytes payload, const tis_rights& r);
  tis_answer job_list(codec::bytes payload, codec::mutable_bytes out);
  tis_answer flash_led(codec::bytes payload);
  tis_answer refuse_debugging(std::uint8_t sub, const tis_rights& r);
  [[nodiscard]] std::uint16_t check_job(std::uint8_t sub, const codec::s7::tis::frame& f,
                                        const tis_rights& r) const;
  [[nodiscard]] tis_answer error(std::uint16_t code) const;
  std::size_t modify(const test_job& j, codec::mutable_bytes out);
  // Writes job `j`'s push through `out`; false when it was not sent.
  bool send_push(const test_job& j, push_sink& out);

  plc_state& st_;
  std::uint32_t owner_;
  push_clock::time_point due_ = push_never;  // an Enable job makes it due
};

// --- Push builders ------------------------------------------------------------------------------

// The parameter of a push of programmer command `subfunction` for job `number` (readVarTab frame
// 7: 00 01 12 08 12 01 02 02 00 00 0000).
[[nodiscard]] codec::s7::ud::param tis_push_param(std::uint8_t subfunction,
                                                  std::uint8_t number) noexcept;
// The payload of a variable status push: the values of `addresses` (a set-up's address list)
// read from memory, each with its return code (readVarTab frame 7: 0004 0012 0100 0002 0002
// FF 09 0006 ... FF 09 0001 02 00). nullopt when it does not fit `out`.
[[nodiscard]] std::optional<std::size_t> write_variable_status_push(
    codec::mutable_bytes out, const codec::s7::tis::item_list& addresses, plc_memory& mem,
    const plc_state& st);
// The payload of a block status push: the start address and the register values of each line
// (readDiagData frame 28). nullopt when it does not fit `out`.
[[nodiscard]] std::optional<std::size_t> write_block_status_push(
    codec::mutable_bytes out, const codec::s7::tis::block_status_push& b);
// The bytes of a push payload of `count` items would take (variable status of `addresses`).
[[nodiscard]] std::size_t variable_status_push_size(const codec::s7::tis::item_list& addresses);

}  // namespace protos7::server
