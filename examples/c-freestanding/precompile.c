/*
 * precompile IN.wasm OUT.cwasm: compile a module ahead of time for the
 * freestanding example's engine settings (target x86_64-unknown-none with
 * SSE3 to SSE4.2), with the hosted libkeel: the artifact the compiler-free
 * freestanding library loads. The settings must match the loading
 * engine's, or keel refuses the artifact.
 */
#include <stdio.h>
#include <stdlib.h>

#include <keel.h>

static void check(keel_error_t *error, const char *what) {
  if (error) {
    wasm_name_t message;
    keel_error_message(error, &message);
    fprintf(stderr, "%s: %s\n", what, message.data);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s IN.wasm OUT.cwasm\n", argv[0]);
    return 2;
  }
  FILE *in = fopen(argv[1], "rb");
  if (!in) {
    perror(argv[1]);
    return 1;
  }
  static unsigned char wasm[1 << 20];
  size_t len = fread(wasm, 1, sizeof wasm, in);
  fclose(in);

  wasm_config_t *config = wasm_config_new();
  check(keel_config_target_set(config, "x86_64-unknown-none"), "target");
  const char *flags[] = {"has_sse3", "has_ssse3", "has_sse41", "has_sse42"};
  for (unsigned i = 0; i < 4; ++i) check(keel_config_cranelift_flag_enable(config, flags[i]), flags[i]);
  wasm_engine_t *engine;
  check(keel_engine_new_with_config(config, &engine), "engine");
  wasm_byte_vec_t artifact;
  check(keel_engine_precompile_module(engine, wasm, len, &artifact), "precompile");
  FILE *out = fopen(argv[2], "wb");
  if (!out || fwrite(artifact.data, 1, artifact.size, out) != artifact.size || fclose(out)) {
    perror(argv[2]);
    return 1;
  }
  wasm_byte_vec_delete(&artifact);
  wasm_engine_delete(engine);
  return 0;
}
