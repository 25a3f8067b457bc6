/* seqfuse/types.h: element types shared by tensors and the model file. */
#ifndef SEQFUSE_TYPES_H
#define SEQFUSE_TYPES_H

typedef enum sf_dtype {
    SF_F32 = 0,
    SF_F16,
    SF_BF16,
    SF_F64,
    SF_I32,
    SF_I64,
    SF_U8,
    SF_DTYPE_COUNT
} sf_dtype;

#endif
