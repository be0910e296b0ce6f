/* fuzz_mil_proto.c — libFuzzer harness for the Core ML Model message reader (protobuf -> IR and
 * description): any input must give a program or an error, never a crash, leak or hang. */
#include <stddef.h>
#include <stdint.h>

#include "mil/proto_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mil_program *p = NULL;
  mil_metadata md;
  mr_error err = {0};
  if (mil_proto_read(data, size, "fuzz.mlmodel", &p, &md, &err) == MR_OK) {
    mil_program_free(p);
    mil_metadata_free(&md);
  }
  return 0;
}
