/* coreml_standin.h — stand-in classes named as Core ML's and Foundation's, registered in GCC's
 * Objective-C runtime, so that the Core ML executor (src/exec/coreml/) runs on Linux. Each method
 * checks what it is given the way Core ML documents it (shapes, strides, data types, function
 * names, one state shared, no overlapping calls on a state) and computes with milrun's CPU
 * executor. Counters let tests see what the executor did. */
#ifndef TESTS_COREML_STANDIN_H
#define TESTS_COREML_STANDIN_H

#include "milrun.h"

typedef struct standin_stats {
  int compiles;          /* MLModel compileModelAtURL:error: */
  int loads;             /* MLModel modelWithContentsOfURL:configuration:error: */
  int states_made;       /* MLModel newState */
  int predictions;       /* all predictions */
  int stateful_predictions;
  int distinct_states;   /* MLStates passed to predictions */
  int overlaps;          /* a prediction began on a state already in a prediction */
  int outputs_backed;    /* outputs Core ML wrote into a backing the caller gave */
  int outputs_made;      /* outputs in arrays of its own (padded rows) */
  int arrays_wrapped;    /* initWithDataPointer:... */
  int state_accesses;    /* getMultiArrayForStateNamed:handler: */
  long last_units;       /* computeUnits of the last load */
  char last_function[64]; /* functionName of the last load ("" when none was set) */
} standin_stats;

/* Register the classes once per process (later calls reset the counters and switches). */
void standin_register(void);
standin_stats *standin_stats_get(void);
/* Objects alive now: after the executor freed everything, the count it started from. */
long standin_live_objects(void);
/* Behave as Core ML before macOS 15: no functionName, no states. */
void standin_set_os_major(int major);
/* The next compile fails; a model loaded from now on lacks function `name` (NULL: none). */
void standin_fail_next_compile(void);
void standin_hide_function(const char *name);
/* Each stateful prediction waits this long inside the state (to catch overlapping calls). */
void standin_set_prediction_delay_us(int us);

#endif
