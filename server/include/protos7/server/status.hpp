// The server's name for protos7::status (base/include/protos7/status.hpp).
#pragma once

#include "protos7/status.hpp"

namespace protos7::server {
using protos7::status;
}  // namespace protos7::server
