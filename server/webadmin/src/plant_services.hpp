// The web admin of a plant (`protos7 serve --plant`): the plant page's figures and a service per
// PLC (service.hpp), made when the PLC is first addressed (/api/plcs/NAME/...), so a plant of
// thousands of PLCs does not open thousands of SQLite files at start. A PLC's client list and
// request log (its traffic monitor) start when its service is made.
//
// Thread-safe: called from the HTTP threads. The figures come from what the loops publish
// (plant::plc atomics, the PLC's log_context), so GET /api/plcs posts nothing to the loops.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "protos7/server/plant.hpp"
#include "protos7/webadmin/webadmin.hpp"
#include "service.hpp"

namespace protos7::webadmin {

class plant_services {
 public:
  // `base`: the web admin's options (sqlite_path and bin_dir are each PLC's own).
  plant_services(const options& base, server::plant& p);
  ~plant_services();
  plant_services(const plant_services&) = delete;
  plant_services& operator=(const plant_services&) = delete;

  // The service of PLC `name`, made at the first call; nullptr when the plant has no such PLC.
  // Throws std::runtime_error when the PLC's SQLite file cannot be opened.
  [[nodiscard]] service* find(std::string_view name);
  // GET /api/plcs: the plant and every PLC's summary.
  [[nodiscard]] json overview() const;
  // GET /api/plcs/NAME: one PLC's summary; null when there is no such PLC.
  [[nodiscard]] json summary(std::string_view name) const;
  [[nodiscard]] json session_info() const;  // "plant" of GET /api/session
  [[nodiscard]] std::size_t size() const noexcept { return plant_.size(); }

 private:
  struct entry {
    options opt;
    std::unique_ptr<service> svc;
  };
  [[nodiscard]] json plc_json(const server::plant::plc& p) const;

  const options& base_;
  server::plant& plant_;
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  std::mutex mu_;  // guards made_
  std::map<std::string, std::unique_ptr<entry>, std::less<>> made_;
};

}  // namespace protos7::webadmin
