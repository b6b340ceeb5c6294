// libFuzzer target: DCEP's DATA_CHANNEL_OPEN (rtc::dcep::parse_open). Nothing crashes; an
// accepted open has a known channel type and exactly the message's bytes as label and protocol;
// written again with open_message it has the input's size and parses to the same open.
#include <cstdint>
#include <cstdlib>

#include "seedcast/rtc/dcep.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace dcep = seedcast::rtc::dcep;
  auto check = [](bool ok) {
    if (!ok) std::abort();
  };
  auto open = dcep::parse_open({data, size});
  if (!open) return 0;
  check(size == 12 + open->label.size() + open->protocol.size() && data[0] == dcep::kOpen);
  check((open->channel_type & 0x7c) == 0 && (open->channel_type & 0x03) != 0x03);
  auto written = dcep::open_message(*open);
  check(written.size() == size);
  auto back = dcep::parse_open(written);
  check(back && back->channel_type == open->channel_type && back->priority == open->priority &&
        back->reliability == open->reliability && back->label == open->label &&
        back->protocol == open->protocol);
  return 0;
}
