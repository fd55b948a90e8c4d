// A tiny test runner for the engine's C++ unit tests: TEST(suite, name) registers a case, CHECK*
// records a failure and goes on, REQUIRE* stops the case. main() (check.cc) runs the suites named
// on its command line (ctest gives one each) and exits non-zero on any failure or on no case run.
#pragma once
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace check {

using TestFn = void (*)();
bool add(const char* suite, const char* name, TestFn fn);
void fail(const char* file, int line, const std::string& what);

// Thrown by REQUIRE*: the case cannot go on meaningfully.
struct Abort : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename A, typename B>
std::string describe(const char* a_expr, const char* b_expr, const A& a, const B& b) {
  std::ostringstream s;
  s << a_expr << " == " << b_expr << " (got " << a << " vs " << b << ")";
  return s.str();
}

}  // namespace check

#define TEST(suite, name)                                                         \
  static void suite##__##name();                                                  \
  static const bool suite##__##name##__added = check::add(#suite, #name, suite##__##name); \
  static void suite##__##name()

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) check::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)
#define CHECK_MSG(cond, msg)                                                   \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::ostringstream check_msg_;                                           \
      check_msg_ << "CHECK(" #cond "): " << msg;                               \
      check::fail(__FILE__, __LINE__, check_msg_.str());                       \
    }                                                                          \
  } while (0)
// Copies both sides: a reference into a temporary (build_layers(c)[0].x) would dangle.
#define CHECK_EQ(a, b)                                                                           \
  do {                                                                                           \
    const auto check_a_ = (a);                                                                  \
    const auto check_b_ = (b);                                                                  \
    if (!(check_a_ == check_b_)) check::fail(__FILE__, __LINE__, check::describe(#a, #b, check_a_, check_b_)); \
  } while (0)
#define CHECK_NEAR(a, b, tol)                                                                    \
  do {                                                                                           \
    const double check_a_ = (a), check_b_ = (b);                                                 \
    if (!(std::fabs(check_a_ - check_b_) <= (tol)))                                              \
      check::fail(__FILE__, __LINE__, check::describe(#a, #b, check_a_, check_b_) + " beyond " #tol); \
  } while (0)
#define REQUIRE(cond)                                                       \
  do {                                                                      \
    if (!(cond)) {                                                          \
      check::fail(__FILE__, __LINE__, "REQUIRE(" #cond ")");                \
      throw check::Abort("requirement failed");                             \
    }                                                                       \
  } while (0)
// Runs `stmt` and requires it to throw `type` whose what() contains `fragment`.
#define CHECK_THROWS(stmt, type, fragment)                                                        \
  do {                                                                                            \
    bool check_threw_ = false;                                                                    \
    try {                                                                                         \
      stmt;                                                                                       \
    } catch (const type& e) {                                                                     \
      check_threw_ = true;                                                                        \
      if (std::string(e.what()).find(fragment) == std::string::npos)                              \
        check::fail(__FILE__, __LINE__, std::string(#stmt " threw '") + e.what() + "', expected it to mention '" fragment "'"); \
    }                                                                                             \
    if (!check_threw_) check::fail(__FILE__, __LINE__, #stmt " did not throw " #type);           \
  } while (0)
