// The protobuf ceiling for the codec benchmark: libprotobuf's generated C++
// code (protoc --cpp_out) serializing the player snapshot and parsing those
// bytes; and, for the question, a DynamicMessage parsing the same
// bytes (what a reflection-based Lua codec would do before even reading
// the fields out). Prints "name=ns ...".
#include <google/protobuf/dynamic_message.h>

#include <cstdio>
#include <memory>
#include <string>

#include "bench/codecs/snapshot.pb.h"
#include "bench/support.h"

namespace {}  // namespace

int main() {
  bench::Snapshot s;
  s.set_uid(90000001);
  s.set_level(57);
  s.set_exp(1234567);
  s.set_hp(880);
  s.set_mp(240);
  s.set_x(1024);
  s.set_y(768);
  s.set_z(12);
  s.set_dir(3);
  s.set_speed(7);
  s.set_gold(5000000000LL);
  s.set_gems(321);
  s.set_vip(4);
  s.set_guild(77);
  s.set_map(1001);
  s.set_online(true);
  s.set_pk(false);
  s.set_title(12);
  s.set_flags(0x30);
  s.set_last_login(1764000000);
  s.set_name("player_of_the_north");
  for (int i = 1; i <= 16; i++) {
    bench::Item *it = s.add_items();
    it->set_id(1000 + i);
    it->set_count(i * 3);
    it->set_slot(i);
    it->set_bound(i % 2 == 0);
  }
  const int n = 200000;
  std::string bytes;
  double enc = bench::ns_per_op(n, [&] {
    bytes.clear();
    s.SerializeToString(&bytes);
  });
  bench::Snapshot parsed;
  double dec = bench::ns_per_op(n, [&] { parsed.ParseFromString(bytes); });
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<google::protobuf::Message> dyn(factory.GetPrototype(bench::Snapshot::descriptor())->New());
  double dyn_dec = bench::ns_per_op(n, [&] { dyn->ParseFromString(bytes); });
  std::printf("generated.encode=%.0f generated.decode=%.0f dynamic.decode=%.0f generated.bytes=%zu check=%d\n", enc,
              dec, dyn_dec, bytes.size(), parsed.items_size() == 16 ? 1 : 0);
  return 0;
}
