#include "netcall/serve.hpp"

namespace netcall {

int serve_main(int, char**, server& srv, const serve_info&) {
  srv.run();
  return 0;
}

}  // namespace netcall
