// Real PDUs from the Wireshark sample captures (read with
// `tshark -r <capture> -T fields -e frame.number -e tcp.payload`), written field by field.
// Each is a whole TPKT frame as it crossed the wire; the captures themselves stay outside the
// repository (PROTOS7_PCAP_DIR). Byte strings of PDUs are facts; nothing else is copied.
//
// Captures: plc_status = s7comm_reading_plc_status.pcap, plc_time =
// s7comm_reading_setting_plc_time.pcap, nodave = s7comm_varservice_libnodavedemo.pcap,
// nodave_bench = s7comm_varservice_libnodavedemo_bench.pcap, download =
// s7comm_downloading_block_db1.pcap, blocklist = s7comm_program_blocklist_onlineview.pcap.
#pragma once

#include "test_util.hpp"

namespace protos7::codec::test::fx {

// --- COTP connection ----------------------------------------------------------------------

// plc_status frame 8
inline byte_vec cotp_cr() {
  return hex(
      "03 00 0016"  // TPKT: version 3, reserved 0, length 22
      "11"          // COTP LI 17
      "e0"          // CR, CDT 0
      "0000"        // dst-ref 0
      "000f"        // src-ref 0x000f
      "00"          // class 0, no options
      "c1 02 0100"  // calling TSAP: PG (01), 00
      "c2 02 0102"  // called TSAP: PG, rack 0 slot 2
      "c0 01 0a");  // TPDU size 2^10 = 1024
}

// plc_status frame 9
inline byte_vec cotp_cc() {
  return hex(
      "03 00 0016"    // TPKT length 22
      "11"            // LI 17
      "d0"            // CC
      "000f"          // dst-ref = the CR's src-ref
      "0003"          // src-ref
      "00"            // class 0
      "c0 01 0a"      // TPDU size 1024
      "c1 02 0100"    // calling TSAP
      "c2 02 0102");  // called TSAP
}

// nodave frame 7
inline byte_vec cotp_cr_nodave() {
  return hex(
      "03 00 0016"
      "11 e0 0000 0001 00"  // LI 17, CR, dst-ref 0, src-ref 1, class 0
      "c1 02 0100"          // calling TSAP
      "c2 02 0102"          // called TSAP
      "c0 01 09");          // TPDU size 512
}

// nodave frame 8
inline byte_vec cotp_cc_nodave() {
  return hex(
      "03 00 0016"
      "11 d0 0001 0003 00"  // LI 17, CC, dst-ref 1, src-ref 3, class 0
      "c0 01 09"            // TPDU size 512
      "c1 02 0100"
      "c2 02 0102");
}

// plc_status frame 12 (and many more): the PLC's empty DT with EOT = 0 before each answer.
inline byte_vec dt_empty_no_eot() {
  return hex(
      "03 00 0007"  // TPKT length 7, the minimum
      "02 f0"       // LI 2, DT
      "00");        // EOT 0, TPDU-NR 0; no user data
}

// --- Setup communication ------------------------------------------------------------------

// plc_status frame 10
inline byte_vec setup_job() {
  return hex(
      "03 00 0019"  // TPKT length 25
      "02 f0 80"    // DT, EOT
      "32 01"       // S7, Job
      "0000"        // redundancy id
      "0200"        // PDU ref
      "0008 0000"   // param length 8, data length 0
      "f0 00"       // Setup communication, reserved
      "0001 0001"   // max AmQ calling 1, called 1
      "01e0");      // PDU length 480
}

// plc_status frame 11
inline byte_vec setup_ack() {
  return hex(
      "03 00 001b"  // TPKT length 27
      "02 f0 80"
      "32 03"      // Ack_Data
      "0000 0200"  // redundancy id, PDU ref
      "0008 0000"  // param 8, data 0
      "00 00"      // error class, error code
      "f0 00"
      "0001 0001"
      "00f0");  // negotiated PDU length 240
}

// nodave frame 9: libnodave asks for 1920 with PDU ref 0xffff.
inline byte_vec setup_job_nodave() {
  return hex(
      "03 00 0019 02 f0 80"
      "32 01 0000 ffff 0008 0000"
      "f0 00 0001 0001 0780");
}

// --- Read Var / Write Var -----------------------------------------------------------------

// nodave frame 11: read DB1.DBB0, 64 bytes.
inline byte_vec read_var_job() {
  return hex(
      "03 00 001f 02 f0 80"
      "32 01 0000 0000"  // Job, PDU ref 0
      "000e 0000"        // param 14, data 0
      "04 01"            // Read Var, 1 item
      "12 0a 10"         // var spec, length 10, S7ANY
      "02"               // transport size BYTE
      "0040"             // count 64
      "0001"             // DB 1
      "84"               // area DB
      "000000");         // address byte 0 bit 0
}

// nodave frame 12
inline byte_vec read_var_ack() {
  return hex(
      "03 00 0059 02 f0 80"
      "32 03 0000 0000"  // Ack_Data, PDU ref 0
      "0002 0044"        // param 2, data 68
      "00 00"            // no error
      "04 01"            // Read Var, 1 item
      "ff 04 0200"       // success, BYTE/WORD/DWORD, 512 bits
      "00000000000000000000000000000000"
      "00000000000000000000000000000000"
      "00000000000000000000000000000000"
      "00000000000000000000000000000000");
}

// nodave frame 13: read MB0, 16 bytes.
inline byte_vec read_var_job_m() {
  return hex(
      "03 00 001f 02 f0 80"
      "32 01 0000 0001 000e 0000"
      "04 01"
      "12 0a 10 02 0010 0000 83 000000");  // BYTE x16, no DB, area M, byte 0
}

// nodave frame 14
inline byte_vec read_var_ack_m() {
  return hex(
      "03 00 0029 02 f0 80"
      "32 03 0000 0001 0002 0014 00 00"
      "04 01"
      "ff 04 0080"                          // 128 bits
      "a9100000000001010000000000000000");  // 16 bytes
}

// nodave frame 15: write MB0..MB3.
inline byte_vec write_var_job() {
  return hex(
      "03 00 0027 02 f0 80"
      "32 01 0000 0002"
      "000e 0008"                        // param 14, data 8
      "05 01"                            // Write Var, 1 item
      "12 0a 10 02 0004 0000 83 000000"  // BYTE x4 at M0
      "00 04 0020"                       // rc reserved, BYTE/WORD/DWORD, 32 bits
      "a9100001");
}

// nodave frame 16
inline byte_vec write_var_ack() {
  return hex(
      "03 00 0016 02 f0 80"
      "32 03 0000 0002"
      "0002 0001 00 00"  // param 2, data 1, no error
      "05 01"            // Write Var, 1 item
      "ff");             // item 1: success
}

// nodave_bench frame 4077: five S7ANY items.
inline byte_vec read_var_job_5() {
  return hex(
      "03 00 004f 02 f0 80"
      "32 01 0000 07d5 003e 0000"  // param 62
      "04 05"
      "12 0a 10 02 0006 0000 81 000000"    // IB0, 6 bytes
      "12 0a 10 02 0006 0000 83 000000"    // MB0, 6 bytes
      "12 0a 10 02 0006 0000 83 000030"    // MB6, 6 bytes
      "12 0a 10 02 0036 0000 83 000020"    // MB4, 54 bytes
      "12 0a 10 02 0004 0000 83 000020");  // MB4, 4 bytes
}

// nodave_bench frame 4078
inline byte_vec read_var_ack_5() {
  return hex(
      "03 00 0075 02 f0 80"
      "32 03 0000 07d5 0002 0060 00 00"  // data 96
      "04 05"
      "ff 04 0030 000000000000"  // 48 bits
      "ff 04 0030 0a1000020000"
      "ff 04 0030 010500000006"
      "ff 04 01b0"  // 432 bits = 54 bytes
      "0000010500000006400ccccd0000000000000000"
      "0000000000000000000000000000000000000000"
      "0000000000000000000000000000"
      "ff 04 0020 00000105");
}

// --- Userdata: SZL ------------------------------------------------------------------------

// plc_status frame 13: Read SZL 0x0132 index 4.
inline byte_vec szl_request() {
  return hex(
      "03 00 0021 02 f0 80"
      "32 07 0000 0300"  // Userdata, PDU ref 0x0300
      "0008 0008"        // param 8, data 8
      "00 01 12"         // head
      "04"               // length of rest 4
      "11"               // method: request
      "44"               // type 4 request, group 4 CPU functions
      "01"               // Read SZL
      "00"               // sequence number
      "ff 09 0004"       // rc success, octet string, length 4
      "0132 0004");      // SZL-ID, index
}

// plc_status frame 14
inline byte_vec szl_response() {
  return hex(
      "03 00 0051 02 f0 80"
      "32 07 0000 0300 000c 0034"  // param 12, data 52
      "00 01 12 08"                // head, length of rest 8
      "12 84 01 01"                // response, type 8 group 4, Read SZL, seq 1
      "00 00 0000"                 // data unit ref 0, last unit, no error
      "ff 09 0030"                 // success, octet string, 48 bytes
      "0132 0004"                  // SZL-ID, index
      "0028 0001"                  // LENTHDR 40, N_DR 1
      "0004 0001 0000 0001 0002 0000 0000 5656 bc04 a3d5"
      "8401 d6b2 0200 0000 0000 0000 0000 0000 0000 0000");
}

// plc_status frame 17: first unit of the fragmented SZL 0x0000 answer.
inline byte_vec szl_response_first_fragment() {
  return hex(
      "03 00 00f7 02 f0 80"
      "32 07 0000 0400 000c 00da"  // data 218
      "00 01 12 08 12 84 01 01"
      "05 01 0000"  // data unit ref 5, more units follow
      "ff 09 00d6"  // 214 bytes
      "0000 0000"   // SZL-ID 0, index 0
      "0002 0070"   // LENTHDR 2, N_DR 112: 224 record bytes in total
      "0000 0f00 0002 0011 0111 0f11 0012 0112 0f12 0013 0113 0014 0f14 0015 0115 0017"
      "0117 0f17 0018 0118 0f18 0019 0f19 001a 0f1a 001b 0f1b 001c 011c 0f1c 0021 0a21"
      "0f21 0222 0023 0f23 0024 0124 0424 0524 0025 0125 0225 0f25 0131 0132 0232 0036"
      "0136 0f36 0037 0137 0f37 0038 0138 0238 0f38 0139 003a 0f3a 0074 0174 0f74 0591"
      "0a91 0c91 0d91 0092 0292 0692 0f92 0094 0194 0294 0694 0794 0f94 0095 0195 0f95"
      "0696 0c96 0c97 0d97 019a 029a 0f9a 0c9b 009c 019c 029c 039c 0f9c 00a0 01a0 0fa0"
      "00b1 00b2 00b3 00b4 01b5 02b5 03b5");
}

// plc_status frame 19: the client asks for the next unit.
inline byte_vec szl_request_next() {
  return hex(
      "03 00 0021 02 f0 80"
      "32 07 0000 0500 000c 0004"  // param 12, data 4
      "00 01 12 08"
      "12 44 01 01"  // method 0x12, type 4 request, Read SZL, seq 1
      "00 00 0000"
      "0a 00 0000");  // rc 0x0a, no transport size, no payload
}

// plc_status frame 20: the last unit.
inline byte_vec szl_response_last_fragment() {
  return hex(
      "03 00 0033 02 f0 80"
      "32 07 0000 0500 000c 0016"
      "00 01 12 08 12 84 01 01"
      "05 00 0000"  // data unit ref 5, last unit
      "ff 09 0012"  // 18 bytes of records, no SZL head
      "04b5 05b5 06b5 07b5 08b5 01b6 02b6 03b6 04b6");
}

// plc_status frame 42: unknown SZL answered with error 0xd402.
inline byte_vec szl_response_error() {
  return hex(
      "03 00 0021 02 f0 80"
      "32 07 0000 0c00 000c 0004"
      "00 01 12 08 12 84 01 01"
      "00 00 d402"    // error code 0xd402
      "0a 00 0000");  // object does not exist, no payload
}

// plc_status frame 56: SZL-ID 0x0f11, the partial list header only (no records).
inline byte_vec szl_response_header_only() {
  return hex(
      "03 00 0029 02 f0 80"
      "32 07 0000 1000 000c 000c"
      "00 01 12 08 12 84 01 02 00 00 0000"
      "ff 09 0008"
      "0f11 0000"    // SZL-ID 0x0f11: extract 0xF = header only
      "001c 0004");  // LENTHDR 28, N_DR 4, and no records
}

// plc_status frame 39: SZL 0x0111 index 1 (module identification), 1 record of 28 bytes.
inline byte_vec szl_response_0111() {
  return hex(
      "03 00 0045 02 f0 80"
      "32 07 0000 0b00 000c 0028"
      "00 01 12 08 12 84 01 01 00 00 0000"
      "ff 09 0024"
      "0111 0001 001c 0001"
      "0001 36455337203135312d38414230312d3041423020 00c0 0003 0001");
}

// --- Userdata: time -----------------------------------------------------------------------

// plc_time frame 25
inline byte_vec read_clock_request() {
  return hex(
      "03 00 001d 02 f0 80"
      "32 07 0000 0700 0008 0004"
      "00 01 12 04 11"
      "47"            // type 4 request, group 7 time functions
      "01 00"         // Read clock, seq 0
      "0a 00 0000");  // empty data unit, as snap7 and Step 7 send it
}

// plc_time frame 26: 2014-08-20 11:59:43.912, Wednesday.
inline byte_vec read_clock_response() {
  return hex(
      "03 00 002b 02 f0 80"
      "32 07 0000 0700 000c 000e"
      "00 01 12 08 12 87 01 01 00 00 0000"
      "ff 09 000a"
      "00 19 14 08 20"  // reserved, year 19|14, month 08, day 20
      "11 59 43"        // 11:59:43
      "91 24");         // ms 91|2, weekday 4
}

// plc_time frame 43: set 2014-08-20 11:59:33.040, weekday 0 (not set by Step 7).
inline byte_vec set_clock_request() {
  return hex(
      "03 00 0027 02 f0 80"
      "32 07 0000 0c00 0008 000e"
      "00 01 12 04 11 47 02 00"  // Set clock
      "ff 09 000a"
      "00 19 14 08 20 11 59 33 04 00");
}

// plc_time frame 44
inline byte_vec set_clock_response() {
  return hex(
      "03 00 0021 02 f0 80"
      "32 07 0000 0c00 000c 0004"
      "00 01 12 08 12 87 02 01 00 00 0000"
      "0a 00 0000");
}

// --- Userdata: block functions ------------------------------------------------------------

// download frame 22
inline byte_vec list_blocks_request() {
  return hex(
      "03 00 001d 02 f0 80"
      "32 07 0000 0700 0008 0004"
      "00 01 12 04 11 43 01 00"  // type 4 group 3 block functions, List blocks
      "0a 00 0000");
}

// download frame 23
inline byte_vec list_blocks_response() {
  return hex(
      "03 00 003d 02 f0 80"
      "32 07 0000 0700 000c 0020"
      "00 01 12 08 12 83 01 00 00 00 0000"
      "ff 09 001c"
      "3038 0001"    // "08" OB: 1
      "3045 0000"    // "0E" FB: 0
      "3043 0000"    // "0C" FC: 0
      "3041 0000"    // "0A" DB: 0
      "3042 000c"    // "0B" SDB: 12
      "3044 0047"    // "0D" SFC: 71
      "3046 000e");  // "0F" SFB: 14
}

// download frame 34
inline byte_vec list_blocks_of_type_request() {
  return hex(
      "03 00 001f 02 f0 80"
      "32 07 0000 0b00 0008 0006"
      "00 01 12 04 11 43 02 00"  // List blocks of type
      "ff 09 0002"
      "3038");  // "08": OB
}

// download frame 35
inline byte_vec list_blocks_of_type_response() {
  return hex(
      "03 00 0025 02 f0 80"
      "32 07 0000 0b00 000c 0008"
      "00 01 12 08 12 83 02 01 00 00 0000"
      "ff 09 0004"
      "0001 22 03");  // OB 1, flags 0x22, language 3 (FUP)
}

// blocklist frame 96: first unit of the SFC list (52 entries).
inline byte_vec list_sfc_first_fragment() {
  return hex(
      "03 00 00f1 02 f0 80"
      "32 07 0000 0500 000c 00d4"
      "00 01 12 08 12 83 02 01"
      "04 01 0000"  // data unit ref 4, more follow
      "ff 09 00d0"  // 208 bytes = 52 entries
      "0000420100014201000242010003420100044201000542010006420100"
      "0b4201000c4201000d4201000e4201000f420100114201001242010013"
      "4201001442010015420100164201001742010018420100"
      "1c4201001d4201001e4201001f42010020420100214201002242010024"
      "420100254201002642010027420100284201002942010"
      "02a4201002b4201002c4201002e4201002f420100314201003242010033"
      "4201003442010066420100374201003842010039420100"
      "3a4201003b420100404201004642010047420100484201");
}

// blocklist frame 98
inline byte_vec list_sfc_request_next() {
  return hex(
      "03 00 0021 02 f0 80"
      "32 07 0000 0600 000c 0004"
      "00 01 12 08 12 43 02 01 00 00 0000"
      "0a 00 0000");
}

// blocklist frame 99
inline byte_vec list_sfc_last_fragment() {
  return hex(
      "03 00 006d 02 f0 80"
      "32 07 0000 0600 000c 0050"
      "00 01 12 08 12 83 02 01"
      "04 00 0000"  // data unit ref 4, last
      "ff 09 004c"  // 76 bytes = 19 entries
      "00494201004a42010051420100524201005342010054420100634201"
      "0065420100674201006942010"
      "06a4201006b4201006c4201006d420100704201007142010072420100"
      "7e4201007f4201");
}

// blocklist frame 136
inline byte_vec block_info_request() {
  return hex(
      "03 00 0025 02 f0 80"
      "32 07 0000 1200 0008 000c"
      "00 01 12 04 11 43 03 00"  // Get block info
      "ff 09 0008"
      "3041 3030303031 42");  // "0A" "00001" "B": DB 1, both file systems
}

// blocklist frame 137
inline byte_vec block_info_response() {
  return hex(
      "03 00 006f 02 f0 80"
      "32 07 0000 1200 000c 0052"
      "00 01 12 08 12 83 03 00 00 00 0000"
      "ff 09 004e"                 // 78 bytes
      "0100 004a 2200 7070"        // block type, info length 74, unknown, "pp"
      "01 01 05 0a"                // unknown, flags, language DB, sub-block type DB
      "0001"                       // number 1
      "000001f4 00000000"          // load memory length 500, security
      "029147602bb5 029147602bb5"  // code and interface timestamps
      "001c 0000 0000 0190"        // SSB 28, ADD 0, local data 0, MC7 400
      "5457490000000000"           // author "TWI"
      "54657374484d4900"           // family "TestHMI"
      "4441544144420000"           // name "DATADB"
      "01 00 c0df"                 // version, unknown, checksum
      "00000000 00000000");        // reserved
}

// download frame 38: Get block info of a missing DB.
inline byte_vec block_info_response_error() {
  return hex(
      "03 00 0021 02 f0 80"
      "32 07 0000 0c00 000c 0004"
      "00 01 12 08 12 83 03 00 00 00 d209"
      "0a 00 0000");
}

// plc_status frame 52: Message service subscription.
inline byte_vec message_service_request() {
  return hex(
      "03 00 0027 02 f0 80"
      "32 07 0000 0f00 0008 000e"
      "00 01 12 04 11 44 02 00"  // CPU functions, Message service
      "ff 09 000a"
      "03 00 61736d657373 00 00");
}

// --- Block control ------------------------------------------------------------------------

// download frame 43
inline byte_vec request_download_job() {
  return hex(
      "03 00 0031 02 f0 80"
      "32 01 0000 0e00 0020 0000"  // param 32
      "1a 00"                      // Request download, status
      "0100"                       // unknown
      "00000000"                   // unknown
      "09 5f 3041 3030303031 50"   // "_0A00001P": DB 1, passive file system
      "0d 31"                      // part 2: length 13, '1'
      "303030353030"               // load memory length "000500"
      "303030343030");             // MC7 length "000400"
}

// download frame 44
inline byte_vec request_download_ack() {
  return hex(
      "03 00 0014 02 f0 80"
      "32 03 0000 0e00 0001 0000 00 00"
      "1a");
}

// download frame 46
inline byte_vec download_block_job() {
  return hex(
      "03 00 0023 02 f0 80"
      "32 01 0000 0100 0012 0000"
      "1b 00 0000 00000000"
      "09 5f3041303030303150");  // "_0A00001P"
}

// download frame 54: the last block unit (status 0: no more data).
inline byte_vec download_block_ack_last() {
  return hex(
      "03 00 0051 02 f0 80"
      "32 03 0000 0500 0002 003c 00 00"
      "1b 00"      // Download block, status: last
      "0038 00fb"  // length 56, unknown 0x00fb
      "0401100c010000c7000504010000010100000052545749000000000054657374484d4900"
      "44415441444200000100c0df0000000000000000");
}

// download frame 55
inline byte_vec download_ended_job() {
  return hex(
      "03 00 0023 02 f0 80"
      "32 01 0000 0700 0012 0000"
      "1c 00 0000 00000000"
      "09 5f3041303030303150");
}

// download frame 57
inline byte_vec download_ended_ack() {
  return hex(
      "03 00 0014 02 f0 80"
      "32 03 0000 0700 0001 0000 00 00"
      "1c");
}

// download frame 58: PI-Service _INSE of DB 1.
inline byte_vec pi_inse_job() {
  return hex(
      "03 00 002b 02 f0 80"
      "32 01 0000 0f00 001a 0000"  // param 26
      "28"                         // PI-Service
      "00 00 00 00 00 00 fd"       // 7 unknown bytes
      "000a"                       // parameter block length 10
      "01 00 3041303030303150"     // 1 block, 0x00, "0A00001P"
      "05 5f494e5345");            // "_INSE"
}

// download frame 59
inline byte_vec pi_ack() {
  return hex(
      "03 00 0014 02 f0 80"
      "32 03 0000 0f00 0001 0000 00 00"
      "28");
}

// Every whole frame above, for the properties that hold for all of them.
inline std::vector<byte_vec> all_frames() {
  return {cotp_cr(),
          cotp_cc(),
          cotp_cr_nodave(),
          cotp_cc_nodave(),
          dt_empty_no_eot(),
          setup_job(),
          setup_ack(),
          setup_job_nodave(),
          read_var_job(),
          read_var_ack(),
          read_var_job_m(),
          read_var_ack_m(),
          write_var_job(),
          write_var_ack(),
          read_var_job_5(),
          read_var_ack_5(),
          szl_request(),
          szl_response(),
          szl_response_first_fragment(),
          szl_request_next(),
          szl_response_last_fragment(),
          szl_response_error(),
          szl_response_header_only(),
          szl_response_0111(),
          read_clock_request(),
          read_clock_response(),
          set_clock_request(),
          set_clock_response(),
          list_blocks_request(),
          list_blocks_response(),
          list_blocks_of_type_request(),
          list_blocks_of_type_response(),
          list_sfc_first_fragment(),
          list_sfc_request_next(),
          list_sfc_last_fragment(),
          block_info_request(),
          block_info_response(),
          block_info_response_error(),
          message_service_request(),
          request_download_job(),
          request_download_ack(),
          download_block_job(),
          download_block_ack_last(),
          download_ended_job(),
          download_ended_ack(),
          pi_inse_job(),
          pi_ack()};
}

// The frames that carry an S7 PDU (all but the COTP connection and the empty DT).
inline std::vector<byte_vec> s7_frames() {
  std::vector<byte_vec> out;
  for (byte_vec& f : all_frames())
    if (f.size() > s7_at && std::to_integer<unsigned>(f[5]) == 0xF0) out.push_back(std::move(f));
  return out;
}

}  // namespace protos7::codec::test::fx
