// A plant in one process (plant.hpp): PLCs sharing event loops, each its own CPU: identity,
// memory, mode, connection limits, storage and group commit. Real sockets on 127.0.0.1 with an
// ephemeral port per PLC, real storage (the sample PLC) in a temporary folder.
#include "protos7/server/plant.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "protos7/codec/szl.hpp"
#include "test_client.hpp"

using namespace p7test;
namespace srv = protos7::server;
namespace szl = protos7::codec::szl;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

class test_plant {
 public:
  // `plcs` entries get "listen": "127.0.0.1:0" when they have none.
  test_plant(json plcs, unsigned threads) {
    std::string t = "/tmp/protos7-plant-XXXXXX";
    dir_ = ::mkdtemp(t.data());
    srv::set_log_level(std::getenv("PROTOS7_TEST_LOG") != nullptr ? srv::log_level::trace
                                                                  : srv::log_level::off);
    for (json& p : plcs)
      if (!p.contains("listen")) p["listen"] = "127.0.0.1:0";
    const json doc = {{"format", "protos7-plant"}, {"version", 1}, {"plcs", std::move(plcs)}};
    const srv::plant_file f = srv::parse_plant(doc.dump(), dir_ + "/test.json", dir_);
    srv::config common;
    common.abort_on_bad_reply = true;  // every reply must decode with s7::decode
    plant_ = std::make_unique<srv::plant>(f, threads, common);
  }
  ~test_plant() {
    plant_->stop();
    if (thread_.joinable()) thread_.join();
    plant_.reset();
    fs::remove_all(dir_);
  }
  test_plant(const test_plant&) = delete;
  test_plant& operator=(const test_plant&) = delete;

  void start() {
    plant_->listen();
    plant_->prepare_storage(srv::log_level::off);
    thread_ = std::thread([this] { plant_->run(); });
  }
  srv::plant& plant() { return *plant_; }
  [[nodiscard]] std::uint16_t port(std::size_t i) const { return plant_->at(i).srv.port(); }
  [[nodiscard]] const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<srv::plant> plant_;
  std::thread thread_;
};

json named(std::initializer_list<const char*> names) {
  json a = json::array();
  for (const char* n : names)
    a.push_back({{"name", n}, {"identity", {{"serial_number", std::string("SN-") + n}}}});
  return a;
}

// Read SZL (Userdata group 4, subfunction 1) of one id and index, answered in one data unit.
std::optional<buf> read_szl(const client& c, std::uint16_t id, std::uint16_t index) {
  buf prm = hex("000112041144 0100");  // head, length 4, request, type 4 / group 4, sub 1, seq 0
  buf data = hex("ff090004");
  for (const std::uint16_t w : {id, index}) {
    data.push_back(static_cast<std::byte>(w >> 8U));
    data.push_back(static_cast<std::byte>(w & 0xFFU));
  }
  buf pdu(64);
  s7::header h;
  h.type = s7::rosctr::userdata;
  h.pdu_ref = 0x4242;
  pdu.resize(*s7::encode(h, prm, data, pdu));
  const auto r = c.transact(pdu);
  if (!r) return std::nullopt;
  const auto m = s7::decode(*r);
  if (!m || m->ud.prm.error_code != 0) return std::nullopt;
  return buf(m->ud.data.payload.begin(), m->ud.data.payload.end());
}

// The text of the SZL 0x001C record `index` (AS name 1, serial number 5) of the PLC at `port`.
std::string component(std::uint16_t port, std::uint16_t index) {
  client c(port);
  if (!c.open()) return "(no connection)";
  const auto payload = read_szl(c, 0x011C, index);  // 0x011C: the one record of index `index`
  if (!payload) return "(no answer)";
  const auto head = szl::parse_response(*payload, payload->data(), true);
  if (!head || head->record_count != 1) return "(bad answer)";
  const auto rec = szl::parse_component_identification(
      szl::record_at(head->records, head->record_length, 0), payload->data());
  if (!rec) return "(bad record)";
  const std::string_view t = szl::text_of(rec->name);
  return std::string(t.substr(0, t.find('\0')));
}

buf read_db1(const client& c, std::uint32_t at, std::uint16_t n) {
  const s7::any_address item = any(0x02, n, 0x84, 1, at);
  const auto r = c.transact(client::job(1, var_param(s7::function::read_var, {&item, 1})));
  if (!r) return {};
  const auto items = read_items(*r);
  return items.size() == 1 && items[0].rc == 0xFF ? items[0].data : buf{};
}

bool write_db1(const client& c, std::uint32_t at, const buf& bytes) {
  const s7::any_address item = any(0x02, static_cast<std::uint16_t>(bytes.size()), 0x84, 1, at);
  const wdata d{0x04, bytes, std::nullopt};
  const auto r = c.transact(
      client::job(2, var_param(s7::function::write_var, {&item, 1}), write_data({&d, 1})));
  if (!r) return false;
  const auto m = s7::decode(*r);
  return m && m->p.data.size() == 1 && u8(m->p.data[0]) == 0xFF;
}

std::string file_bytes(const std::string& p, std::size_t at, std::size_t n) {
  std::ifstream f(p, std::ios::binary);
  const std::string all{std::istreambuf_iterator<char>(f), {}};
  return all.size() < at + n ? std::string{} : all.substr(at, n);
}

TEST(plant, each_plc_answers_with_its_own_identity) {
  json plcs = named({"a", "b", "c", "d", "e"});
  plcs[2]["identity"]["as_name"] = "line 3 press";
  test_plant tp(plcs, 2);
  tp.start();
  EXPECT_EQ(tp.plant().threads(), 2U);
  std::set<std::uint16_t> ports;
  for (std::size_t i = 0; i < 5; ++i) {
    const std::string n = tp.plant().at(i).name;
    EXPECT_EQ(component(tp.port(i), szl::component_index::serial_number), "SN-" + n);
    ports.insert(tp.port(i));
  }
  EXPECT_EQ(component(tp.port(2), szl::component_index::as_name), "line 3 press");
  // The others keep the profile's AS name.
  EXPECT_EQ(component(tp.port(1), szl::component_index::as_name),
            srv::bundled_profile().id.as_name);
  EXPECT_EQ(ports.size(), 5U);
}

TEST(plant, writes_stay_in_their_own_plc_and_are_on_disk_when_acknowledged) {
  test_plant tp(named({"a", "b", "c", "d"}), 2);
  tp.start();
  std::vector<std::unique_ptr<client>> cs;
  for (std::size_t i = 0; i < 4; ++i) {
    cs.push_back(std::make_unique<client>(tp.port(i)));
    ASSERT_TRUE(cs.back()->open());
  }
  for (std::size_t i = 0; i < 4; ++i)
    ASSERT_TRUE(write_db1(*cs[i], 10, {std::byte{0xA0}, static_cast<std::byte>(i)}));
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(to_hex(read_db1(*cs[i], 10, 2)), fmt::format("a0{:02x}", i));
    const std::string file = tp.plant().at(i).bin_dir() + "/DB1.bin";
    EXPECT_EQ(file_bytes(file, 10, 2), std::string("\xA0") + static_cast<char>(i)) << file;
  }
}

TEST(plant, plcs_are_sharded_over_loops_that_run_on_their_own_threads) {
  test_plant tp(named({"a", "b", "c", "d"}), 2);
  tp.start();
  std::vector<std::thread::id> ids(4);
  for (std::size_t i = 0; i < 4; ++i) {
    std::promise<std::thread::id> ran;
    auto got = ran.get_future();
    ASSERT_TRUE(tp.plant().at(i).srv.post([&ran] { ran.set_value(std::this_thread::get_id()); }));
    ASSERT_EQ(got.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    ids[i] = got.get();
    EXPECT_EQ(tp.plant().at(i).shard, i % 2);
  }
  EXPECT_EQ(ids[0], ids[2]);  // shard 0
  EXPECT_EQ(ids[1], ids[3]);  // shard 1
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[0], std::this_thread::get_id());
}

TEST(plant, mode_and_connection_limits_are_per_plc) {
  json plcs = named({"a", "b"});
  plcs[0]["max_connections"] = 1;  // + one reserved for a PG and one for an OP: 3 TCP connections
  test_plant tp(plcs, 1);
  tp.start();
  std::promise<void> stopped;
  ASSERT_TRUE(tp.plant().at(0).srv.post(
      [&] { tp.plant().at(0).srv.plc().set_mode(srv::operating_mode::stop, "test"); },
      [&](bool) { stopped.set_value(); }));
  ASSERT_EQ(stopped.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(tp.plant().at(0).mode.load(), srv::operating_mode::stop);
  EXPECT_EQ(tp.plant().at(1).mode.load(), srv::operating_mode::run);
  // a: its one general connection resource and the one reserved for a PG, then no more.
  client a1(tp.port(0));
  client a2(tp.port(0));
  client a3(tp.port(0));
  ASSERT_TRUE(a1.open());
  ASSERT_TRUE(a2.open());
  EXPECT_FALSE(a3.open());  // COTP CR refused (DR, congestion)
  std::vector<std::unique_ptr<client>> on_b;
  for (int i = 0; i < 4; ++i) {  // b's limit is its own (the profile's 12)
    on_b.push_back(std::make_unique<client>(tp.port(1)));
    ASSERT_TRUE(on_b.back()->open()) << i;
  }
  EXPECT_EQ(tp.plant().at(1).srv.connection_count(), 4U);
}

TEST(plant, requests_are_counted_per_plc) {
  test_plant tp(named({"a", "b"}), 2);
  tp.start();
  client c(tp.port(1));
  ASSERT_TRUE(c.open());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(read_db1(c, 0, 4).size(), 4U);
  EXPECT_EQ(tp.plant().at(0).srv.stats().requests, 0U);
  // The COTP CR, Setup Communication and the 5 reads.
  EXPECT_EQ(tp.plant().at(1).srv.stats().requests, 7U);
}

TEST(plant, a_failed_sync_fails_only_the_writes_of_its_plc) {
  test_plant tp(named({"a", "b"}), 1);  // one loop: both in the same group commit
  tp.plant().at(0).mem.set_fdatasync([](int) {
    errno = EIO;
    return -1;
  });
  tp.start();
  client a(tp.port(0));
  client b(tp.port(1));
  ASSERT_TRUE(a.open());
  ASSERT_TRUE(b.open());
  EXPECT_FALSE(write_db1(a, 0, {std::byte{1}}));  // closed without its acknowledgement
  EXPECT_TRUE(write_db1(b, 0, {std::byte{2}}));
  EXPECT_EQ(file_bytes(tp.plant().at(1).bin_dir() + "/DB1.bin", 0, 1), std::string("\x02"));
  EXPECT_EQ(tp.plant().at(1).log.last_problem().count, 0U);
  const auto problem = tp.plant().at(0).log.last_problem();
  EXPECT_GE(problem.count, 1U);
  EXPECT_FALSE(problem.text.empty());
}

TEST(plant, an_address_that_cannot_be_bound_names_the_plc_and_writes_nothing) {
  json plcs = named({"a", "b"});
  plcs[1]["listen"] = "192.0.2.1:102";  // TEST-NET-1: not an address of this host
  test_plant tp(plcs, 1);
  try {
    tp.plant().listen();
    FAIL() << "listen() accepted an address of another host";
  } catch (const srv::plant_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("$.plcs[1].listen (PLC \"b\"): cannot listen on 192.0.2.1:102"),
              std::string::npos)
        << m;
  }
  EXPECT_EQ(tp.plant().listen_errno(), EADDRNOTAVAIL);
  EXPECT_FALSE(fs::exists(tp.dir() + "/test-data"));
}

TEST(plant, the_plcs_stop_together_and_drop_posted_work) {
  test_plant tp(named({"a", "b", "c"}), 2);
  tp.start();
  client c(tp.port(2));
  ASSERT_TRUE(c.open());
  tp.plant().stop();
  EXPECT_TRUE(c.closed_by_peer());
  // Once the loops have stopped, posting is refused.
  for (int i = 0; i < 50 && tp.plant().at(0).srv.post([] {}); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(tp.plant().at(0).srv.post([] {}));
}

}  // namespace
