#include "check.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <vector>

namespace check {

namespace {
struct Case {
  const char* suite;
  const char* name;
  TestFn fn;
};
std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}
std::mutex failures_mutex;
int failures = 0;  // in the running case; fail() may be called from other threads
}  // namespace

bool add(const char* suite, const char* name, TestFn fn) {
  cases().push_back({suite, name, fn});
  return true;
}

void fail(const char* file, int line, const std::string& what) {
  std::lock_guard<std::mutex> lock(failures_mutex);
  ++failures;
  std::fprintf(stderr, "    %s:%d: %s\n", file, line, what.c_str());
}

}  // namespace check

int main(int argc, char** argv) {
  using namespace check;
  int passed = 0, failed = 0;
  for (const Case& c : cases()) {
    bool selected = argc < 2;
    for (int i = 1; i < argc; ++i) selected = selected || std::strcmp(argv[i], c.suite) == 0;
    if (!selected) continue;
    {
      std::lock_guard<std::mutex> lock(failures_mutex);
      failures = 0;
    }
    std::string thrown;
    try {
      c.fn();
    } catch (const Abort&) {
    } catch (const std::exception& e) {
      thrown = e.what();
    } catch (...) {
      thrown = "a non-standard exception";
    }
    if (!thrown.empty()) fail(__FILE__, __LINE__, "uncaught exception: " + thrown);
    int f;
    {
      std::lock_guard<std::mutex> lock(failures_mutex);
      f = failures;
    }
    std::printf("%s %s.%s\n", f == 0 ? "  ok  " : "  FAIL", c.suite, c.name);
    std::fflush(stdout);
    ++(f == 0 ? passed : failed);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  if (passed + failed == 0) {
    std::fprintf(stderr, "no test case matches the suites given\n");
    return 2;
  }
  return failed == 0 ? 0 : 1;
}
