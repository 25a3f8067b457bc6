/* simd.h: SF_SIMD_CLONES, for functions whose omp simd loops are worth building
 * for AVX-512 and AVX2 as well as the baseline, picked at load time (GCC/clang
 * target_clones on x86-64 ELF; nothing elsewhere). */
#ifndef SF_CORE_SIMD_H
#define SF_CORE_SIMD_H

#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__)
#define SF_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SF_SIMD_CLONES
#endif

#endif
