// The msgpack ceiling for the codec benchmark: msgpack-c packing the player
// snapshot straight from a C++ struct, and unpacking those bytes into
// msgpack-c's object tree. Prints "msgpack_c.encode=ns msgpack_c.decode=ns".
#include <msgpack.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "bench/support.h"

namespace {

struct Item {
  int id, count, slot;
  bool bound;
};

struct Snapshot {
  long long uid = 90000001, exp = 1234567, gold = 5000000000LL, last_login = 1764000000;
  int level = 57, hp = 880, mp = 240, x = 1024, y = 768, z = 12, dir = 3, speed = 7, gems = 321, vip = 4, guild = 77,
      map = 1001, title = 12, flags = 0x30;
  bool online = true, pk = false;
  const char *name = "player_of_the_north";
  Item items[16];
};

void key(msgpack_packer *pk, const char *k) {
  size_t n = std::strlen(k);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, k, n);
}

void pack(msgpack_packer *pk, const Snapshot &s) {
  msgpack_pack_map(pk, 22);
  key(pk, "uid"), msgpack_pack_int64(pk, s.uid);
  key(pk, "level"), msgpack_pack_int(pk, s.level);
  key(pk, "exp"), msgpack_pack_int64(pk, s.exp);
  key(pk, "hp"), msgpack_pack_int(pk, s.hp);
  key(pk, "mp"), msgpack_pack_int(pk, s.mp);
  key(pk, "x"), msgpack_pack_int(pk, s.x);
  key(pk, "y"), msgpack_pack_int(pk, s.y);
  key(pk, "z"), msgpack_pack_int(pk, s.z);
  key(pk, "dir"), msgpack_pack_int(pk, s.dir);
  key(pk, "speed"), msgpack_pack_int(pk, s.speed);
  key(pk, "gold"), msgpack_pack_int64(pk, s.gold);
  key(pk, "gems"), msgpack_pack_int(pk, s.gems);
  key(pk, "vip"), msgpack_pack_int(pk, s.vip);
  key(pk, "guild"), msgpack_pack_int(pk, s.guild);
  key(pk, "map"), msgpack_pack_int(pk, s.map);
  key(pk, "online"), s.online ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
  key(pk, "pk"), s.pk ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
  key(pk, "title"), msgpack_pack_int(pk, s.title);
  key(pk, "flags"), msgpack_pack_int(pk, s.flags);
  key(pk, "last_login"), msgpack_pack_int64(pk, s.last_login);
  key(pk, "name");
  size_t n = std::strlen(s.name);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s.name, n);
  key(pk, "items");
  msgpack_pack_array(pk, 16);
  for (const Item &it : s.items) {
    msgpack_pack_map(pk, 4);
    key(pk, "id"), msgpack_pack_int(pk, it.id);
    key(pk, "count"), msgpack_pack_int(pk, it.count);
    key(pk, "slot"), msgpack_pack_int(pk, it.slot);
    key(pk, "bound"), it.bound ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
  }
}

}  // namespace

int main() {
  Snapshot s;
  for (int i = 0; i < 16; i++) s.items[i] = {1000 + i + 1, (i + 1) * 3, i + 1, (i + 1) % 2 == 0};
  msgpack_sbuffer buf;
  msgpack_sbuffer_init(&buf);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
  const int n = 200000;
  double enc = bench::ns_per_op(n, [&] {
    buf.size = 0;  // reuse the buffer, as the Lua codec reuses its own
    pack(&pk, s);
  });
  std::vector<char> bytes(buf.data, buf.data + buf.size);
  msgpack_unpacked result;
  msgpack_unpacked_init(&result);
  size_t total = 0;
  double dec = bench::ns_per_op(n, [&] {
    size_t off = 0;
    msgpack_unpack_next(&result, bytes.data(), bytes.size(), &off);
    total += off;
  });
  std::printf("msgpack_c.encode=%.0f msgpack_c.decode=%.0f msgpack_c.bytes=%zu check=%d\n", enc, dec, bytes.size(),
              total > 0 ? 1 : 0);
  msgpack_unpacked_destroy(&result);
  msgpack_sbuffer_destroy(&buf);
  return 0;
}
