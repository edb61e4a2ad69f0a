// The S7 services `protos7 client` offers, over a connection (connection.hpp): Read Var, Write
// Var, Read SZL, List blocks, List blocks of type and the upload of a block. Requests are built
// with the codec's writers, answers decoded with its parsers; a header error or a Userdata error
// code in an answer throws client_error(failure::refused) naming the code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protos7/client/connection.hpp"
#include "protos7/codec/s7_item.hpp"
#include "protos7/codec/userdata.hpp"

namespace protos7::client {

struct item_result {
  std::uint8_t return_code = 0;  // 0xFF: success
  std::vector<std::byte> data;   // read: the item's bytes (one byte 0/1 for a BIT item)
};

// Reads the items in one job. Throws client_error (refused: the job got a header error).
[[nodiscard]] std::vector<item_result> read_var(connection& c,
                                                std::span<const codec::s7::any_address> items);

// Writes data[i] to items[i] in one job; returns each item's return code.
[[nodiscard]] std::vector<std::uint8_t> write_var(connection& c,
                                                  std::span<const codec::s7::any_address> items,
                                                  std::span<const std::vector<std::byte>> data);

// "object does not exist (0x0A)": an item return code as a CPU means it.
[[nodiscard]] std::string return_code_text(std::uint8_t rc);

struct szl_answer {
  std::uint16_t id = 0;
  std::uint16_t index = 0;
  std::uint16_t record_length = 0;
  std::uint16_t record_count = 0;
  std::vector<std::byte> records;  // every data unit's records, in order
};
// Reads an SZL list (with the follow-up requests of an answer split over several PDUs).
[[nodiscard]] szl_answer read_szl(connection& c, std::uint16_t id, std::uint16_t index);

struct block_type_count {
  std::uint8_t type = 0;  // 0x08 OB, 0x0A DB, 0x0B SDB, 0x0C FC, 0x0D SFC, 0x0E FB, 0x0F SFB
  std::uint16_t count = 0;
};
[[nodiscard]] std::vector<block_type_count> list_blocks(connection& c);
// The blocks of one type (with the follow-up requests); none: an empty list.
[[nodiscard]] std::vector<codec::s7::ud::block_entry> list_blocks_of_type(connection& c,
                                                                          std::uint8_t type);

// Uploads a block (Start upload, Upload until the last part, End upload): its MC7 file.
[[nodiscard]] std::vector<std::byte> upload(connection& c, std::uint8_t type, std::uint32_t number);

// "OB", "DB", "SDB", "FC", "SFC", "FB", "SFB" <-> block type codes; 0 / "" when unknown.
[[nodiscard]] std::uint8_t block_type_code(std::string_view name) noexcept;
[[nodiscard]] std::string_view block_type_name(std::uint8_t type) noexcept;

}  // namespace protos7::client
