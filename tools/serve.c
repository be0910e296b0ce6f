/* serve.c — `milrun serve`: the options of the OpenAI-compatible server (src/serve/), and the
 * signals that stop it gracefully (Ctrl-C, SIGTERM; a second one cancels what still runs at once). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "commands.h"
#include "opts.h"
#include "serve/serve.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
  (void)sig;
  g_stop = g_stop + 1;
}

static void catch_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

int tool_serve(int argc, char **argv) {
  serve_options o;
  serve_options_defaults(&o);
  int threads = 0, max_body_kib = (int)(o.max_body >> 10);
  const tool_opt opts[] = {
    {"model", 'm', OPT_STR, &o.model, "MODEL", "demo, a model folder, a model-config JSON or ORG/NAME[@REV]" OPT_NL "(default " MR_DEFAULT_MODEL ")", 0, 0, NULL},
    {"alias", 'a', OPT_STR, &o.alias, "NAME", "the model's id in answers and /v1/models (default: MODEL)", 0, 0, NULL},
    {"host", 0, OPT_STR, &o.host, "ADDR", "IP address to listen on (default 127.0.0.1: this machine only)", 0, 0, NULL},
    {"port", 0, OPT_INT, &o.port, "N", "TCP port (default 8080; 0: any free one, printed at start)", 0, 65535, NULL},
    {"parallel", 0, OPT_INT, &o.parallel, "N", "slots: requests generated at the same time, each with its own" OPT_NL "KV state (default 1)", 1, 256, NULL},
    {"ctx-per-slot", 'c', OPT_INT, &o.context, "N", "positions each slot uses, at most the model's (default: the model's)", 0, 1 << 24, NULL},
    {"queue", 0, OPT_INT, &o.queue, "N", "requests that may wait for a free slot; more get 503 (default 64)", 0, 1 << 20, NULL},
    {"api-key", 0, OPT_STR, &o.api_key, "KEY", "require 'Authorization: Bearer KEY' on all but /health" OPT_NL "(default: $MILRUN_API_KEY, else none)", 0, 0, NULL},
    {"no-think", 0, OPT_FLAG, &o.no_think, NULL, "Qwen3: chat without thinking unless a request sets" OPT_NL "chat_template_kwargs.enable_thinking", 0, 0, NULL},
    {"max-body", 0, OPT_INT, &max_body_kib, "KIB", "largest request body in KiB; larger ones get 413 (default 4096)", 1, 1 << 20, NULL},
    {"timeout-header", 0, OPT_INT, &o.header_timeout_s, "S", "seconds for a request's headers to arrive, else 408 (default 10)", 1, 3600, NULL},
    {"timeout-idle", 0, OPT_INT, &o.idle_timeout_s, "S", "seconds a connection may stay silent (default 60)", 1, 86400, NULL},
    {"shutdown-timeout", 0, OPT_INT, &o.shutdown_timeout_s, "S", "on Ctrl-C/SIGTERM, seconds running requests get to finish" OPT_NL "(default 10)", 0, 86400, NULL},
    {"threads", 't', OPT_INT, &threads, "N", "CPU threads (default: $MILRUN_THREADS, else all)", 0, 4096, NULL},
    TOOL_BACKEND_OPTS(&o.bundle),
    {"verbose", 'v', OPT_FLAG, &o.verbose, NULL, "log lines also give each error's reason, a generation's slot," OPT_NL
     "cached tokens and times; and the HTTP library's messages", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL}};
  const tool_cmd cmd = {
    "serve", "[--model M] [--host 127.0.0.1] [--port 8080] [--parallel N] [options]",
    "Serve an Anemll-layout LLM over HTTP with OpenAI's API: POST /v1/chat/completions and\n"
    "/v1/completions (streamed as server-sent events with \"stream\": true), GET /v1/models, /health,\n"
    "/metrics (Prometheus), and llama-server's POST /tokenize and /detokenize. Each of the N slots is a\n"
    "session with its own KV state; a request takes the free slot whose cached tokens share the\n"
    "longest prefix with its prompt, or waits in a queue of --queue requests (then 503). Sampling\n"
    "fields a request leaves out take milrun's defaults (llama.cpp's, as `milrun generate`).\n"
    "Ctrl-C or SIGTERM stops accepting, lets running requests finish for --shutdown-timeout seconds\n"
    "(then cancels them; a second signal: at once) and exits 0. One line per request on stderr.",
    opts, NULL, 0, 0, NULL};
  const char *pos[1];
  int npos, rc = tool_parse(&cmd, argc, argv, pos, &npos);
  if (rc) return tool_parse_exit(rc);
  if (!o.api_key && getenv("MILRUN_API_KEY") && *getenv("MILRUN_API_KEY")) o.api_key = getenv("MILRUN_API_KEY");
  if (threads) mr_set_threads(threads);
  o.max_body = (size_t)max_body_kib << 10;
  o.stop = &g_stop;
  catch_signals();
  mr_error err = {0};
  if (serve_run(&o, &err)) {
    fprintf(stderr, "milrun serve: %s\n", err.msg);
    return err.code == MR_EINVAL ? 2 : 1;
  }
  return 0;
}
