/* unzip.h — safe extraction of the *.mlmodelc.zip files some repositories ship instead of the
 * .mlmodelc folder. */
#ifndef HUB_UNZIP_H
#define HUB_UNZIP_H

#include "milrun.h"

/* Extract `zip_path` into the folder `dest` (created; it must not exist). When every entry sits
 * under "<basename of dest>/" that level is removed, so X.mlmodelc.zip holding X.mlmodelc/... and
 * one holding the files directly both give dest/model.mil. The extraction goes to a temporary
 * sibling folder renamed at the end: `dest` appears whole or not at all. Entries with an absolute
 * path, a ".." component, or a link whose target leaves the folder are refused (MR_EFORMAT,
 * naming the archive and the entry), as is writing through a link. */
int hub_unzip(const char *zip_path, const char *dest, mr_error *err);

#endif
