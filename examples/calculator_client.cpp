// Calls the calculator: calculator_client HOST:PORT  (prints 3 lines; exit 1 on a failure)
#include <cstdio>

#include "netcall/client.hpp"

int main(int argc, char** argv) try {
  netcall::client calc(argc > 1 ? argv[1] : "127.0.0.1:8000");
  std::printf("7 + 5 = %g\n", calc.call<double>("add", 7, 5));
  std::printf("7 / 2 = %g\n", calc.call<double>("divide", 7, 2));
  calc.call<double>("divide", 1, 0);
} catch (const netcall::error& e) {
  std::printf("1 / 0 failed: %s (code %d)\n", e.what(), e.wire_code());
  return e.code() == netcall::status_code::application_error ? 0 : 1;
}
