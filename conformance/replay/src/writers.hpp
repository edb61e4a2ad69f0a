// Internal: the reports of `protos7 replay` and `protos7 report merge`, written as the results
// come. A writer keeps the listed answers of the connections still open (spooled) and the
// aggregates (per service, per capture); everything else goes out when a connection is done.
//
//   text   per connection: its verdict counts, notes and the answers that are not exact (at most
//          40, all with --verbose, exact ones too); per capture and over all captures a table per
//          service; what differs in the failed answers, per service
//   JSON   one document: per capture, per connection its counts per service (and the rules that
//          tolerated its equivalent answers) and its failed answers in full (every answer with
//          --verbose); totals and per-service counts with what differs
//   JUnit  per capture a testsuite; per connection and service one testcase for the answers that
//          pass (their counts), one testcase per failed answer with everything about it
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "protos7/replay/replay.hpp"

namespace protos7::replay::detail {

// The answers of one service on one connection, counted.
struct service_tally {
  std::string service;
  tally t;
  std::vector<std::pair<std::string, std::size_t>> tolerated;  // rule -> equivalent answers
};

// A connection's answers, counted (what a report keeps of the ones it does not list).
struct connection_totals {
  tally t;
  std::vector<service_tally> services;  // in order of first appearance
  void add(const answer& a);
};

// Counts per service over several connections (a capture, a run), in order of first appearance.
class service_table {
 public:
  void add(const service_tally& s);
  [[nodiscard]] const std::vector<service_tally>& rows() const noexcept { return rows_; }

 private:
  std::vector<service_tally> rows_;
  std::map<std::string, std::size_t> at_;
};

// Per service, what differs in its failed answers (differences_of), each with the number of
// answers it occurs in, in order of first appearance. At most max_kinds kinds per service; the
// answers with others are counted under "other differences".
class difference_table {
 public:
  static constexpr std::size_t max_kinds = 256;
  void add(const replay::answer& a);
  using row = std::pair<std::string, std::vector<std::pair<std::string, std::size_t>>>;
  [[nodiscard]] const std::vector<row>& rows() const noexcept { return rows_; }

 private:
  std::vector<row> rows_;
  std::map<std::string, std::size_t> at_;
};

// The head of a report.
struct run_info {
  std::string target;  // label or host:port
  long long timeout_ms = 0;
  std::string shard;  // "I/N" when the run is one shard of several, else ""
};

class report_writer {
 public:
  virtual ~report_writer() = default;
  virtual void begin_run(const run_info& info) = 0;
  virtual void begin_capture(const std::string& path) = 0;
  virtual void capture_error(const std::string& error) = 0;
  virtual void capture_note(const std::string& note) = 0;
  // An answer, in the connection's order (the writer picks what it lists).
  virtual void answer(std::size_t connection, const replay::answer& a) = 0;
  virtual void connection_done(const connection_summary& c, const connection_totals& t) = 0;
  virtual void end_capture() = 0;
  // Returns false when the report could not be written completely.
  virtual bool end_run() = 0;
};

// `verbose`: list exact answers too, and more than 40 per connection.
std::unique_ptr<report_writer> text_writer(std::FILE* out, bool verbose);
// `list_all`: every answer given is listed; otherwise only the failed ones.
std::unique_ptr<report_writer> json_writer(std::FILE* out, bool list_all);
// Writes the file at end_run (its head needs the counts); the testcases are spooled until then.
std::unique_ptr<report_writer> junit_writer(std::string path);

// Counts each connection's answers and passes everything on to the writers.
class counting_sink final : public report_sink {
 public:
  explicit counting_sink(std::vector<report_writer*> writers) : writers_(std::move(writers)) {}
  void begin_capture(const std::string& path) override;
  void capture_error(const std::string& error) override;
  void capture_note(const std::string& note) override;
  void answer(std::size_t connection, const replay::answer& a) override;
  void connection_done(const connection_summary& c) override;
  void end_capture() override;
  [[nodiscard]] const tally& all() const noexcept { return all_; }
  [[nodiscard]] bool loaded() const noexcept { return loaded_; }

 private:
  std::vector<report_writer*> writers_;
  std::vector<std::pair<std::size_t, connection_totals>> open_;
  tally all_;
  bool loaded_ = true;
};

// Text helpers shared by the writers.
std::string value_text(const field_value& v);
std::string field_line(const field_diff& d);
std::string tally_text(const tally& t);
// What differs in a failed answer, for the per-service summary ("s7comm.param.pdu_length",
// "bytes no decoded field covers, first at data byte 28", "missing: no answer within ...").
std::vector<std::string> differences_of(const replay::answer& a);

}  // namespace protos7::replay::detail
