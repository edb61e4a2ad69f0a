'use strict';
// The fault kinds the client libraries are driven under (run.sh), one rule each. Each hits the
// second Read Var (or the first connection / Setup Communication), so a client has already read
// once when the fault comes. The clients time out after 1000 ms (drive.js).

const second = { function: 'read_var', nth: 2 };
module.exports = [
  { kind: 'delay', what: 'reply 1500 ms late', rules: [{ when: second, do: { delay_ms: 1500 } }] },
  { kind: 'no_reply', what: 'no reply', rules: [{ when: second, do: { no_reply: true } }] },
  { kind: 'close', what: 'connection closed (FIN)', rules: [{ when: second, do: { close: true } }] },
  { kind: 'reset', what: 'connection reset (RST)', rules: [{ when: second, do: { reset: true } }] },
  { kind: 'cotp_dr', what: 'COTP DR, reason 0x80', rules: [{ when: second, do: { cotp_dr: '0x80' } }] },
  { kind: 'header_error', what: 'S7 header error 0x8500', rules: [{ when: second, do: { header_error: '0x8500' } }] },
  { kind: 'item_return_code', what: 'item return code 0x0A', rules: [{ when: second, do: { item_return_code: '0x0A' } }] },
  { kind: 'wrong_pdu_ref', what: 'reply with PDU reference + 1', rules: [{ when: second, do: { wrong_pdu_ref: true } }] },
  { kind: 'duplicate', what: 'reply sent twice', rules: [{ when: second, do: { duplicate: true } }] },
  { kind: 'cotp_segment', what: 'reply in COTP DT segments of 7 bytes', rules: [{ when: second, do: { cotp_segment: 7 } }] },
  { kind: 'tcp_segment', what: 'reply in TCP segments of 3 bytes', rules: [{ when: second, do: { tcp_segment: 3 } }] },
  { kind: 'trickle', what: 'reply trickled, 4 bytes every 100 ms', rules: [{ when: second, do: { trickle: { bytes: 4, interval_ms: 100 } } }] },
  { kind: 'refuse_connection', what: 'first TCP connection reset', rules: [{ when: { nth: 1 }, do: { refuse_connections: true } }] },
  { kind: 'stop', what: 'CPU goes to STOP', rules: [{ when: second, do: { stop: true } }] },
  { kind: 'clamp_pdu', what: 'PDU size clamped to 240', rules: [{ when: { function: 'setup_communication' }, do: { clamp_pdu: 240 } }] },
];
