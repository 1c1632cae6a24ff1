// SPDX-License-Identifier: MIT
/* gststegembed.h - stegembed: hides a payload image or video in cover video. */
#ifndef __GST_STEG_EMBED_H__
#define __GST_STEG_EMBED_H__

#include <gst/video/gstvideofilter.h>

#include "gststegutil.h"

G_BEGIN_DECLS

#define GST_TYPE_STEG_EMBED (gst_steg_embed_get_type ())
G_DECLARE_FINAL_TYPE (GstStegEmbed, gst_steg_embed, GST, STEG_EMBED,
    GstVideoFilter)

/* One frame of the payload video, copied out of its buffer on arrival (so upstream's
 * buffer pool is never starved) and fitted to the cover when first used. */
typedef struct
{
  GstClockTime running_time;
  guint64 serial;               /* unique per frame, for the fitted cache */
  struct steg_image image;      /* GRAY8, RGB8 or RGBA8, as it arrived */
} GstStegPayloadFrame;

struct _GstStegEmbed
{
  GstVideoFilter parent;

  /* object lock */
  GstStegSettings settings;
  gchar *payload_path;
  enum steg_fit fit;
  enum steg_channel channel;
  gboolean payload_changed;     /* the still payload must be reloaded */
  GstStegLatency latency;
  GstStegYuv takes_yuv;         /* the model survives 4:2:0: YUV caps are negotiated */

  /* streaming thread of the cover (sink) pad only */
  struct steg_context *ctx;
  GstStegScratch scratch;
  struct steg_image still;      /* the payload file as loaded, any size */
  struct steg_image fitted;     /* what is hidden: GRAY8 at the cover's size */
  guint64 fitted_serial;        /* the source it was made from (0: none) */
  enum steg_fit fitted_fit;
  enum steg_channel fitted_channel;
  guint downstream_checks;      /* frames left to look for a YUV step after us (0: done) */

  /* The payload pad and its queue, guarded by `lock`; `cond` wakes both sides. */
  GMutex lock;
  GCond cond;
  GstPad *payload_pad;
  GstVideoInfo payload_info;
  GstSegment payload_segment;
  GQueue payload_queue;         /* of GstStegPayloadFrame, oldest first */
  guint64 next_serial;
  gboolean payload_eos;
  gboolean payload_flushing;
  gboolean cover_flushing;
};

GST_ELEMENT_REGISTER_DECLARE (stegembed);

G_END_DECLS

#endif /* __GST_STEG_EMBED_H__ */
