/* objc.h — the one place that knows how an Objective-C message is sent, so the Core ML executor is
 * plain C11 on both runtimes it meets: Apple's (objc_msgSend, cast to the exact prototype of each
 * method, as arm64 requires) and GCC's libobjc on Linux, where the tests register stand-in classes
 * (objc_msg_lookup returns the method's IMP, called with the same prototype). A method is called
 * through one of the typed senders below; each names its argument types after the colon count.
 * Blocks, which Core ML takes as handlers, are built by hand after the Block ABI (clang's
 * Block-ABI-Apple): no compiler support for ^{} is needed. */
#ifndef EXEC_COREML_OBJC_H
#define EXEC_COREML_OBJC_H

#include <objc/message.h>
#include <objc/runtime.h>
#include <stdint.h>

#if defined(__APPLE__)
#define OC_IMP(obj, sel) ((void (*)(void))objc_msgSend)
#else
#define OC_IMP(obj, sel) ((void (*)(void))objc_msg_lookup((obj), (sel)))
#endif

/* Send selector name S to obj with the given return and argument types (after id, SEL). obj is
 * evaluated twice: pass a variable or a class, never a message that makes an object. */
#define OC_SEND(RET, TYPES, obj, S, ...) \
  ((RET(*) TYPES)OC_IMP((obj), oc_sel(S)))((obj), oc_sel(S), __VA_ARGS__)

static inline SEL oc_sel(const char *name) { return sel_registerName(name); }
static inline id oc_class(const char *name) { return (id)objc_getClass(name); }

/* The senders Core ML's and Foundation's methods need (NSInteger = long, NSUInteger = unsigned long). */
static inline id oc_msg(id o, const char *s) { return ((id(*)(id, SEL))OC_IMP(o, oc_sel(s)))(o, oc_sel(s)); }
static inline void oc_msg_void(id o, const char *s) { ((void (*)(id, SEL))OC_IMP(o, oc_sel(s)))(o, oc_sel(s)); }
static inline long oc_msg_long(id o, const char *s) { return ((long (*)(id, SEL))OC_IMP(o, oc_sel(s)))(o, oc_sel(s)); }
static inline id oc_msg_id(id o, const char *s, id a) { return OC_SEND(id, (id, SEL, id), o, s, a); }
static inline id oc_msg_id_id(id o, const char *s, id a, id b) { return OC_SEND(id, (id, SEL, id, id), o, s, a, b); }
static inline void oc_set_id(id o, const char *s, id a) { OC_SEND(void, (id, SEL, id), o, s, a); }
static inline void oc_set_long(id o, const char *s, long a) { OC_SEND(void, (id, SEL, long), o, s, a); }

/* BOOL is bool on arm64 Apple and signed/unsigned char elsewhere: compare with 0 only. */
static inline int oc_responds(id cls, const char *s) {
  SEL q = oc_sel(s);
  return OC_SEND(BOOL, (id, SEL, SEL), cls, "instancesRespondToSelector:", q) != 0;
}

/* Foundation values. */
id oc_string(const char *utf8);            /* autoreleased NSString */
const char *oc_cstring(id nsstring);       /* UTF-8 bytes owned by the string, "" for nil */
id oc_number(long long v);                 /* autoreleased NSNumber */
id oc_array(const id *objs, unsigned long n);
id oc_dictionary(const id *values, const id *keys, unsigned long n);
id oc_file_url(const char *path);          /* NSURL fileURLWithPath: */
/* The NSError's localizedDescription, or fallback when err is nil. */
const char *oc_error_text(id err, const char *fallback);
id oc_retain(id o);
void oc_release(id o); /* nil: nothing */
id oc_pool_push(void);   /* an NSAutoreleasePool */
void oc_pool_pop(id pool);

/* A hand-made block literal whose invoke function gets the block itself first, and the captured
 * context as blk->ctx. Valid while the frame that holds it lives (Core ML calls handlers
 * synchronously; a copy made by Block_copy carries ctx along). */
typedef struct oc_block_descriptor {
  unsigned long reserved;
  unsigned long size;
  const char *signature;
} oc_block_descriptor;
typedef struct oc_block {
  void *isa;
  int flags;
  int reserved;
  void (*invoke)(void);
  const oc_block_descriptor *descriptor;
  void *ctx;
} oc_block;
/* A stack block calling invoke (cast to the handler's prototype) with signature as its type
 * encoding. */
oc_block oc_block_make(void (*invoke)(void), const oc_block_descriptor *descriptor, void *ctx);
#define OC_BLOCK_DESCRIPTOR(sig) {0, sizeof(oc_block), sig}

#endif
