// protos7: the command line front end (serve, dump, replay, learn).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "../dump/dump.hpp"

int main(int argc, char** argv) {
  CLI::App app{"protos7: an S7comm-compatible PLC server and conformance test kit"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "protos7 0.1.0");

  std::vector<std::string> dump_files;
  protos7::dump::dump_options dump_opt;
  CLI::App* dump = app.add_subcommand("dump", "Print every TPKT/COTP/S7 PDU of pcap/pcapng captures");
  dump->add_option("captures", dump_files, "Capture files (pcap or pcapng)")->required()->check(CLI::ExistingFile);
  dump->add_flag("--json", dump_opt.json, "One JSON object per PDU, keyed by Wireshark field names");
  dump->add_option("--port", dump_opt.port, "TCP port of the S7 connections (0: every connection)")
      ->default_val(102);

  CLI11_PARSE(app, argc, argv);
  if (*dump) return protos7::dump::run(dump_files, dump_opt, stdout, stderr);
  return 0;
}
