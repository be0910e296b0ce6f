/* objc.c — Foundation values and blocks for the Core ML executor, over the typed senders of objc.h. */
#include "exec/coreml/objc.h"

/* The isa of a stack block. Apple's libSystem defines it; GCC's libobjc has no blocks, so a weak
 * stand-in keeps the same source linking there (only the tests' stand-ins call such blocks). */
#if defined(__APPLE__)
extern void *_NSConcreteStackBlock[32];
#else
__attribute__((weak)) void *_NSConcreteStackBlock[32];
#endif

enum { BLOCK_HAS_SIGNATURE = 1 << 30 };

oc_block oc_block_make(void (*invoke)(void), const oc_block_descriptor *descriptor, void *ctx) {
  oc_block b = {_NSConcreteStackBlock, BLOCK_HAS_SIGNATURE, 0, invoke, descriptor, ctx};
  return b;
}

id oc_string(const char *utf8) {
  return OC_SEND(id, (id, SEL, const char *), oc_class("NSString"), "stringWithUTF8String:", utf8);
}

const char *oc_cstring(id s) {
  const char *p = s ? ((const char *(*)(id, SEL))OC_IMP(s, oc_sel("UTF8String")))(s, oc_sel("UTF8String")) : NULL;
  return p ? p : "";
}

id oc_number(long long v) { return OC_SEND(id, (id, SEL, long long), oc_class("NSNumber"), "numberWithLongLong:", v); }

id oc_array(const id *objs, unsigned long n) {
  return OC_SEND(id, (id, SEL, const id *, unsigned long), oc_class("NSArray"), "arrayWithObjects:count:", objs, n);
}

id oc_dictionary(const id *values, const id *keys, unsigned long n) {
  return OC_SEND(id, (id, SEL, const id *, const id *, unsigned long), oc_class("NSDictionary"),
                 "dictionaryWithObjects:forKeys:count:", values, keys, n);
}

id oc_file_url(const char *path) { return oc_msg_id(oc_class("NSURL"), "fileURLWithPath:", oc_string(path)); }

const char *oc_error_text(id err, const char *fallback) {
  return err ? oc_cstring(oc_msg(err, "localizedDescription")) : fallback;
}

id oc_retain(id o) { return o ? oc_msg(o, "retain") : o; }

void oc_release(id o) {
  if (o) oc_msg_void(o, "release");
}

id oc_pool_push(void) { return oc_msg(oc_msg(oc_class("NSAutoreleasePool"), "alloc"), "init"); }

void oc_pool_pop(id pool) { oc_msg_void(pool, "drain"); }
