/* meta_yaml.h — meta.yaml of a converted bundle with Anemll 0.3.4's keys (0.3.5 keys only where an
 * option needs them: argmax in the model, a LUT group other than 8). */
#ifndef CONVERT_META_YAML_H
#define CONVERT_META_YAML_H

#include "convert/convert.h"

int conv_write_meta_yaml(const conv_model *m, const char *hf_dir, const char *out_dir, mr_error *err);

#endif
