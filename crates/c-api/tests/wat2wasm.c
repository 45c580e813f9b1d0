/*
 * wat2wasm IN.wat OUT.wasm: the text format to a binary module through
 * keel.h's keel_wat2wasm. run-examples.sh rebuilds hostref.wasm with it
 * (the wasm-c-api repository ships that one in a pre-standard encoding).
 */
#include <stdio.h>
#include <stdlib.h>

#include <keel.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s IN.wat OUT.wasm\n", argv[0]);
    return 2;
  }
  FILE *in = fopen(argv[1], "rb");
  if (!in) {
    perror(argv[1]);
    return 1;
  }
  static char text[1 << 20];
  size_t len = fread(text, 1, sizeof text, in);
  fclose(in);
  if (len == sizeof text) {
    fprintf(stderr, "%s: larger than %zu bytes\n", argv[1], sizeof text);
    return 1;
  }
  wasm_byte_vec_t wasm;
  keel_error_t *error = keel_wat2wasm(text, len, &wasm);
  if (error) {
    wasm_name_t message;
    keel_error_message(error, &message);
    fprintf(stderr, "%s: %s\n", argv[1], message.data);
    wasm_byte_vec_delete(&message);
    keel_error_delete(error);
    return 1;
  }
  FILE *out = fopen(argv[2], "wb");
  if (!out || fwrite(wasm.data, 1, wasm.size, out) != wasm.size || fclose(out)) {
    perror(argv[2]);
    return 1;
  }
  wasm_byte_vec_delete(&wasm);
  return 0;
}
