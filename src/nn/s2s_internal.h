/* s2s_internal.h: the per-batch activation buffers of the network and the
 * encoder/decoder halves of sf_s2s_forward_backward. Private to src/nn. */
#ifndef SF_NN_S2S_INTERNAL_H
#define SF_NN_S2S_INTERNAL_H

#include "nn/s2s.h"

typedef struct sf_s2s_acts {
    int B, S, T;
    const int32_t *src_len;      /* [B] host */
    int32_t *src_ids;            /* [S*B] time-major (device) */
    int32_t *tgt_ids;            /* [T*B] time-major decoder inputs (device) */
    int32_t *targets;            /* [T*B] time-major gold outputs (device) */
    /* encoder */
    float *enc_x[SF_MAX_LAYERS];      /* [S,B,in_k]: embeddings, then dropout(y[k-1]) */
    float *enc_y[SF_MAX_LAYERS];      /* [S,B,H] both directions side by side */
    float *enc_mask[SF_MAX_LAYERS];   /* [S,B,H] dropout mask on y[k] (k < L-1) or NULL */
    float *enc_hT[SF_MAX_LAYERS][2];  /* [B,he] */
    float *enc_cT[SF_MAX_LAYERS][2];  /* [B,he] lstm */
    float *enc_cache[SF_MAX_LAYERS][2];
    float *M;                         /* [B,S,H] attention memory */
    float *keys;                      /* [B,S,H] mlp keys or NULL */
    /* decoder */
    float *dec_h[SF_MAX_LAYERS];      /* [T+1,B,H]; index 0 = start state */
    float *dec_c[SF_MAX_LAYERS];      /* [T+1,B,H] lstm */
    float *dec_x[SF_MAX_LAYERS];      /* [T,B,din_l]: u_t for l = 0, dropout(h^{l-1}) above */
    float *dec_mask[SF_MAX_LAYERS];   /* [T,B,H] dropout mask feeding layer l >= 1, or NULL */
    float *dec_cache[SF_MAX_LAYERS];  /* [T, step cache] */
    size_t step_cache;                /* floats per step */
    float *align;                     /* [T,B,S] */
    float *ctx;                       /* [T,B,H] */
    float *htil;                      /* [T,B,H] attentional states h~ */
    float *attn_cache;                /* [T, attn cache] */
    size_t attn_cache_n;
    float *attn_work;                 /* attention backward scratch */
    float *out_mask;                  /* [T,B,H] dropout before the generator, or NULL */
    float *out_in;                    /* [T,B,H] generator input */
    float *logits;                    /* [T*B,V] */
    float *zeros;                     /* [B,H] zero state */
    /* backward */
    float *d_out_in;                  /* [T*B,H] */
    float *dec_dxg[SF_MAX_LAYERS];    /* [T,B,G*H] gate gradients of every step (input side) */
    float *dec_dhg[SF_MAX_LAYERS];    /* [T,B,G*H] recurrent side (gru only; else = dec_dxg) */
    float *d_h[SF_MAX_LAYERS];        /* [B,H] carried state gradients */
    float *d_c[SF_MAX_LAYERS];
    float *d_tmp_h, *d_tmp_c;         /* [B,H] */
    float *d_x;                       /* [B, max din] */
    float *d_htil;                    /* [B,H] */
    float *d_feed;                    /* [B,H] input-feeding gradient into step t-1 */
    float *d_hq;                      /* [B,H] */
    float *d_emb;                     /* [T*B,E] decoder embedding gradients */
    float *dM;                        /* [B,S,H] */
    float *dkeys;                     /* [B,S,H] */
    float *d_enc_y;                   /* [S,B,H] */
    float *d_enc_x;                   /* [S,B,max(E,H)] */
    float *d_enc_hT[SF_MAX_LAYERS][2];
    float *d_enc_cT[SF_MAX_LAYERS][2];
} sf_s2s_acts;

/* Dropout on the device: y = x * mask, with a fresh inverted-dropout mask
 * (0 or 1/(1-p)) from the model's RNG written to mask. */
sf_status sf_s2s_dropout(sf_s2s *m, int64_t n, float p, const float *x, float *mask, float *y);
/* Upload host ints to a device int buffer. */
sf_status sf_s2s_upload_ids(sf_s2s *m, int32_t *dst, const int32_t *src, int64_t n);

sf_status sf_enc_fwd(sf_s2s *m, sf_s2s_acts *a, const sf_s2s_batch *b, int train);
sf_status sf_enc_bwd(sf_s2s *m, sf_s2s_acts *a);
sf_status sf_dec_fwd(sf_s2s *m, sf_s2s_acts *a, const sf_s2s_batch *b, int train);
sf_status sf_dec_bwd(sf_s2s *m, sf_s2s_acts *a);

#endif
