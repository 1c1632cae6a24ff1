// SPDX-License-Identifier: MIT
/* gststegreveal.h - stegreveal: recovers the hidden payload from hybrid video. */
#ifndef __GST_STEG_REVEAL_H__
#define __GST_STEG_REVEAL_H__

#include <gst/video/gstvideofilter.h>

#include "gststegutil.h"

G_BEGIN_DECLS

#define GST_TYPE_STEG_REVEAL (gst_steg_reveal_get_type ())
G_DECLARE_FINAL_TYPE (GstStegReveal, gst_steg_reveal, GST, STEG_REVEAL,
    GstVideoFilter)

struct _GstStegReveal
{
  GstVideoFilter parent;

  GstStegSettings settings;     /* object lock; read when the element starts */

  /* streaming thread only */
  struct steg_context *ctx;
  GstStegScratch scratch;
  GstStegLatency latency;       /* object lock */
  GstStegYuv takes_yuv;         /* object lock; the model survives 4:2:0 */
};

GST_ELEMENT_REGISTER_DECLARE (stegreveal);

G_END_DECLS

#endif /* __GST_STEG_REVEAL_H__ */
