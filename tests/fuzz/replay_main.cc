// The main of a fuzz target outside --config=fuzz: runs the target once on
// every file of the corpus folders (or files) named on the command line,
// so that `bazel test` replays each seed corpus as a regression test. Under
// --config=fuzz libFuzzer brings its own main instead.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

bool run_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
  return true;
}

// Files of a folder, or the path itself when it is a file; -1 if unreadable.
int run_path(const std::string &path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  if (!S_ISDIR(st.st_mode)) return run_file(path) ? 1 : -1;
  DIR *dir = opendir(path.c_str());
  if (dir == nullptr) return -1;
  int n = 0;
  while (struct dirent *e = readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    int r = run_path(path + "/" + name);
    if (r < 0) {
      n = -1;
      break;
    }
    n += r;
  }
  closedir(dir);
  return n;
}

}  // namespace

int main(int argc, char **argv) {
  int total = 0;
  for (int i = 1; i < argc; i++) {
    int n = run_path(argv[i]);
    if (n <= 0) {
      std::fprintf(stderr, "%s: no input could be read\n", argv[i]);
      return 1;
    }
    total += n;
  }
  std::printf("replayed %d inputs, none crashed\n", total);
  return total > 0 ? 0 : 1;
}
