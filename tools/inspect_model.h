/* inspect_model.h — `milrun inspect MODEL_DIR`: an Anemll model directory as a whole. */
#ifndef TOOLS_INSPECT_MODEL_H
#define TOOLS_INSPECT_MODEL_H

/* 1 when dir is a folder holding meta.yaml (what inspect then describes as a model). */
int tool_is_model_dir(const char *dir);

/* Print the description (text, or one JSON object); returns the exit status: 0 when the pieces
 * fit together, 1 when something is missing, unreadable or does not fit (all of it is listed). */
int tool_inspect_model(const char *dir, int json);

#endif
