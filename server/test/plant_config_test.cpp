// The plant file (plant_config.hpp): what it gives each PLC, every error with its JSON path and
// PLC, and `protos7 plant`'s generator.
#include "protos7/server/plant_config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace srv = protos7::server;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

class plant_config : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = "/tmp/protos7-plantcfg-XXXXXX";
    dir = ::mkdtemp(t.data());
  }
  void TearDown() override { fs::remove_all(dir); }

  srv::plant_file parse(const json& doc) { return srv::parse_plant(doc.dump(), "line.json", dir); }
  // The message of the plant_error parse() throws ("" when it does not throw).
  std::string error_of(const json& doc) {
    try {
      (void)parse(doc);
    } catch (const srv::plant_error& e) {
      return e.what();
    }
    return {};
  }
  // The PLCs as a JSON array whatever their number (a braced single json would be copied, not
  // wrapped, by clang: nlohmann/json's single-element initializer list).
  static json doc(std::vector<json> plcs) {
    json list = json::array();
    for (json& p : plcs) list.push_back(std::move(p));
    return {{"format", "protos7-plant"}, {"version", 1}, {"plcs", std::move(list)}};
  }
  static json plc(const std::string& name, const std::string& listen) {
    return {{"name", name}, {"listen", listen}};
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir + "/" + name) << text;
  }

  std::string dir;
};

TEST_F(plant_config, each_plc_gets_its_address_defaults_identity_and_own_folder) {
  json d = doc({plc("a", "127.0.1.1:102"), plc("b", "127.0.1.2"), plc("c", "127.0.1.3:1102")});
  d["defaults"] = {{"max_connections", 5},
                   {"rack", 1},
                   {"idle_timeout", "5s"},
                   {"identity", {{"plant_id", "line 3"}, {"module_name", "CPU X"}}}};
  d["plcs"][1]["slot"] = 3;
  d["plcs"][1]["identity"] = {{"module_name", "CPU B"}, {"serial_number", "S B-1"}};
  d["plcs"][2]["data_dir"] = "elsewhere/c";
  const srv::plant_file f = parse(d);
  ASSERT_EQ(f.plcs.size(), 3U);
  EXPECT_EQ(f.name, "line");  // the file name without its extension
  EXPECT_EQ(f.plcs[0].opt.cfg.listen_address, "127.0.1.1");
  EXPECT_EQ(f.plcs[0].opt.cfg.port, 102);
  EXPECT_EQ(f.plcs[1].opt.cfg.port, 102);  // the default port
  EXPECT_EQ(f.plcs[2].opt.cfg.port, 1102);
  for (const auto& p : f.plcs) {
    EXPECT_EQ(p.opt.cfg.max_connections, 5U);
    EXPECT_TRUE(p.opt.max_connections_given);
    EXPECT_EQ(p.opt.cfg.rack, 1);
    EXPECT_EQ(p.opt.cfg.idle_timeout, std::chrono::seconds(5));
    EXPECT_EQ(p.opt.identity.plant_id, "line 3");
  }
  EXPECT_EQ(f.plcs[0].opt.cfg.slot, 2);
  EXPECT_EQ(f.plcs[1].opt.cfg.slot, 3);
  EXPECT_EQ(f.plcs[0].opt.identity.module_name, "CPU X");
  EXPECT_EQ(f.plcs[1].opt.identity.module_name, "CPU B");  // the PLC's own over the defaults
  EXPECT_EQ(f.plcs[1].opt.identity.serial_number, "S B-1");
  EXPECT_FALSE(f.plcs[0].opt.identity.serial_number.has_value());
  EXPECT_EQ(f.plcs[0].opt.data_dir, dir + "/line-data/a");  // <file stem>-data/<name>
  EXPECT_EQ(f.plcs[2].opt.data_dir, dir + "/elsewhere/c");  // relative to the plant file
  EXPECT_EQ(f.plcs[1].json_path, "$.plcs[1]");
  ASSERT_EQ(f.profiles.size(), 1U);  // the bundled profile, shared
  EXPECT_TRUE(f.profiles.contains(""));
}

TEST_F(plant_config, a_duplicate_address_names_both_plcs_and_the_json_path) {
  const std::string e =
      error_of(doc({plc("a", "127.0.1.1:102"), plc("b", "127.0.1.2:102"), plc("c", "127.0.1.1")}));
  EXPECT_EQ(e,
            "line.json: $.plcs[2].listen (PLC \"c\"): 127.0.1.1:102 is also the address of PLC "
            "\"a\" ($.plcs[0])");
}

TEST_F(plant_config, the_wildcard_address_takes_its_port_on_every_address) {
  EXPECT_NE(
      error_of(doc({plc("a", "127.0.1.1:102"), plc("b", "0.0.0.0:102")})).find("$.plcs[1].listen"),
      std::string::npos);
  EXPECT_NE(
      error_of(doc({plc("a", "0.0.0.0:102"), plc("b", "127.0.1.9:102")})).find("$.plcs[1].listen"),
      std::string::npos);
  // Other ports, and ephemeral ones (tests), do not clash.
  EXPECT_EQ(error_of(doc({plc("a", "0.0.0.0:102"), plc("b", "127.0.1.9:1102"),
                          plc("c", "127.0.0.1:0"), plc("d", "127.0.0.1:0")})),
            "");
}

TEST_F(plant_config, names_are_unique_folder_names) {
  EXPECT_EQ(error_of(doc({plc("Press", "127.0.1.1"), plc("press", "127.0.1.2")})),
            "line.json: $.plcs[1].name (PLC \"press\"): the name is also the name of PLC \"Press\" "
            "($.plcs[0])");
  for (const std::string& bad :
       std::vector<std::string>{"../x", "a/b", ".hidden", "-x", "with space", std::string(65, 'a')})
    EXPECT_NE(error_of(doc({plc(bad, "127.0.1.1")})).find("$.plcs[0].name: "), std::string::npos)
        << bad;
}

TEST_F(plant_config, unknown_keys_and_bad_values_are_named_with_their_path) {
  json d = doc({plc("a", "127.0.1.1"), plc("b", "127.0.1.2")});
  d["plcs"][1]["rak"] = 1;
  EXPECT_NE(error_of(d).find("line.json: $.plcs[1].rak (PLC \"b\"): unknown key"),
            std::string::npos);
  d["plcs"][1].erase("rak");
  d["plcs"][1]["pdu_size"] = 500;
  EXPECT_EQ(error_of(d), "line.json: $.plcs[1].pdu_size (PLC \"b\"): expected 240, 480 or 960");
  d["plcs"][1]["pdu_size"] = 960;
  d["plcs"][1]["listen"] = "127.0.1.300:102";
  EXPECT_NE(error_of(d).find(
                "$.plcs[1].listen (PLC \"b\"): \"127.0.1.300:102\": expected an IPv4 address"),
            std::string::npos);
  d["plcs"][1]["listen"] = "127.0.1.2:70000";
  EXPECT_NE(error_of(d).find("the port must be a number from 0 to 65535"), std::string::npos);
  d["plcs"][1]["listen"] = "127.0.1.2";
  d["plcs"][1]["identity"] = {{"serial_number", std::string(33, 'x')}};
  EXPECT_NE(error_of(d).find("$.plcs[1].identity.serial_number (PLC \"b\"): longer than 32"),
            std::string::npos);
  d["plcs"][1].erase("identity");
  d["plcs"][0].erase("listen");
  EXPECT_NE(error_of(d).find("$.plcs[0] (PLC \"a\"): missing key \"listen\""), std::string::npos);
}

TEST_F(plant_config, the_header_and_defaults_are_checked) {
  json d = doc({plc("a", "127.0.1.1")});
  d["format"] = "protos7-profile";
  EXPECT_NE(error_of(d).find("$.format: expected \"protos7-plant\""), std::string::npos);
  d["format"] = "protos7-plant";
  d["version"] = 2;
  EXPECT_NE(error_of(d).find("$.version: expected 1"), std::string::npos);
  d["version"] = 1;
  d["defaults"] = {{"listen", "127.0.1.1"}};
  EXPECT_EQ(error_of(d),
            "line.json: $.defaults.listen: not allowed in defaults: every PLC has its own");
  d["defaults"] = {{"data_dir", "x"}};
  EXPECT_NE(error_of(d).find("$.defaults.data_dir: not allowed"), std::string::npos);
  d.erase("defaults");
  d["plcs"] = json::array();
  EXPECT_NE(error_of(d).find("$.plcs: expected 1 to 100000 PLCs, got 0"), std::string::npos);
  EXPECT_NE(error_of(json::array()).find("line.json: $: expected an object"), std::string::npos);
  try {
    (void)srv::parse_plant("{\"format\": ", "line.json", dir);
    FAIL();
  } catch (const srv::plant_error& e) {
    EXPECT_NE(std::string(e.what()).find("line.json: not valid JSON"), std::string::npos);
  }
}

TEST_F(plant_config, a_profile_that_does_not_load_names_the_plc_and_the_profile_error) {
  write("broken.json", R"({"format": "protos7-profile", "version": 1, "identity": 7})");
  json d = doc({plc("a", "127.0.1.1"), plc("b", "127.0.1.2")});
  d["plcs"][1]["profile"] = "broken.json";
  const std::string e = error_of(d);
  EXPECT_EQ(e.rfind("line.json: $.plcs[1].profile (PLC \"b\"): " + dir + "/broken.json: $", 0), 0U)
      << e;
  d["plcs"][1]["profile"] = "missing.json";
  EXPECT_NE(error_of(d).find("$.plcs[1].profile (PLC \"b\"): "), std::string::npos);
}

TEST_F(plant_config, each_profile_file_is_loaded_once_and_shared) {
  write("p.json", std::string(srv::bundled_profile_json()));
  json d = doc({plc("a", "127.0.1.1"), plc("b", "127.0.1.2"), plc("c", "127.0.1.3")});
  d["defaults"] = {{"profile", "p.json"}};
  d["plcs"][2]["profile"] = dir + "/p.json";  // the same file, written absolute
  const srv::plant_file f = parse(d);
  ASSERT_EQ(f.profiles.size(), 1U);
  EXPECT_EQ(f.plcs[0].opt.profile_path, dir + "/p.json");
}

TEST_F(plant_config, two_plcs_never_share_storage_and_an_explicit_sqlite_file_must_exist) {
  json d = doc({plc("a", "127.0.1.1"), plc("b", "127.0.1.2")});
  d["plcs"][1]["data_dir"] = "line-data/a";  // a's default folder
  EXPECT_NE(error_of(d).find("$.plcs[1].data_dir (PLC \"b\"): " + dir +
                             "/line-data/a is also the DB "
                             "folder of PLC \"a\" ($.plcs[0])"),
            std::string::npos);
  d["plcs"][1].erase("data_dir");
  d["plcs"][1]["sqlite_path"] = "nope.db";
  EXPECT_EQ(error_of(d), "line.json: $.plcs[1].sqlite_path (PLC \"b\"): SQLite database " + dir +
                             "/nope.db does not exist");
  EXPECT_FALSE(fs::exists(dir + "/line-data"));  // checking wrote nothing
}

TEST_F(plant_config, generated_plants_have_unique_names_addresses_and_serial_numbers) {
  srv::plant_generate_options o;
  o.count = 300;
  o.listen_base = "127.0.1.250:102";
  const json g = json::parse(srv::generate_plant(o));
  ASSERT_EQ(g["plcs"].size(), 300U);
  EXPECT_EQ(g["plcs"][0]["name"], "plc-0001");
  EXPECT_EQ(g["plcs"][0]["listen"], "127.0.1.250:102");
  EXPECT_EQ(g["plcs"][4]["listen"], "127.0.1.254:102");
  EXPECT_EQ(g["plcs"][5]["listen"], "127.0.2.1:102");  // .255 and .0 skipped
  std::set<std::string> names, serials, addresses;
  for (const json& p : g["plcs"]) {
    names.insert(p["name"].get<std::string>());
    serials.insert(p["identity"]["serial_number"].get<std::string>());
    addresses.insert(p["listen"].get<std::string>());
    EXPECT_EQ(p["identity"]["as_name"], p["name"]);
  }
  EXPECT_EQ(names.size(), 300U);
  EXPECT_EQ(serials.size(), 300U);
  EXPECT_EQ(addresses.size(), 300U);
  EXPECT_EQ(parse(g).plcs.size(), 300U);  // the loader takes what the generator writes
}

TEST_F(plant_config, the_generator_counts_ports_or_refuses_to_leave_the_address_range) {
  srv::plant_generate_options o;
  o.count = 3;
  o.listen_base = "127.0.0.1:1102";
  o.vary_port = true;
  json g = json::parse(srv::generate_plant(o));
  EXPECT_EQ(g["plcs"][2]["listen"], "127.0.0.1:1104");
  o.vary_port = false;
  o.listen_base = "127.255.255.253:102";
  EXPECT_THROW((void)srv::generate_plant(o), srv::plant_error);  // past 127.255.255.254
  o.listen_base = "127.0.1.0:102";
  EXPECT_THROW((void)srv::generate_plant(o), srv::plant_error);
  o.listen_base = "localhost:102";
  EXPECT_THROW((void)srv::generate_plant(o), srv::plant_error);
  o.listen_base = "127.0.1.1:102";
  o.count = 0;
  EXPECT_THROW((void)srv::generate_plant(o), srv::plant_error);
  o.count = 2;
  o.profile = dir + "/missing.json";
  EXPECT_THROW((void)srv::generate_plant(o), srv::plant_error);
}

TEST_F(plant_config, a_generated_profile_path_is_relative_to_the_plant_file) {
  fs::create_directories(dir + "/profiles");
  write("profiles/cpu.json", std::string(srv::bundled_profile_json()));
  srv::plant_generate_options o;
  o.count = 2;
  o.profile = dir + "/profiles/cpu.json";
  o.output = dir + "/plant.json";
  const json g = json::parse(srv::generate_plant(o));
  EXPECT_EQ(g["defaults"]["profile"], "profiles/cpu.json");
  const srv::plant_file f = parse(g);
  EXPECT_EQ(f.plcs[1].opt.profile_path, dir + "/profiles/cpu.json");
}

}  // namespace
