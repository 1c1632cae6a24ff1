// SPDX-License-Identifier: MIT
/* gststegutil.h - what stegembed and stegreveal share: properties derived from
 * libsteg's parameter table, opening a libsteg context with GStreamer errors,
 * viewing a video frame as a libsteg image, and the processing latency they report.
 */
#ifndef __GST_STEG_UTIL_H__
#define __GST_STEG_UTIL_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <steg.h>

G_BEGIN_DECLS

/* The RGB family both elements accept for the cover / hybrid with any model. */
#define GST_STEG_RGB_FORMATS \
    "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR }"

/* The pad templates' formats: the RGB family and the YUV formats decoders and encoders
 * use. The YUV ones are negotiated only with a model trained to survive 4:2:0
 * (gst_steg_model_takes_yuv); frames in them are converted to RGB and back with
 * GStreamer's own video converter, as videoconvert would. */
#define GST_STEG_FORMATS \
    "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, YV12, NV12, YUY2 }"

/* Whether an element's model takes YUV frames: not known before the element starts
 * (and loads its model), when the pad templates' formats are offered. */
typedef enum
{
  GST_STEG_YUV_UNKNOWN,
  GST_STEG_YUV_REFUSED,
  GST_STEG_YUV_TAKEN,
} GstStegYuv;

/* TAKEN when the context's model declares itself trained through 4:2:0 chroma (its
 * `transport` metadata names yuv420 or h264, as steg-trainer --transport records). */
GstStegYuv gst_steg_model_takes_yuv (struct steg_context *ctx);

/* `caps` with only the formats `element`'s model takes (*yuv, under the element's
 * object lock): the RGB family, and the YUV formats too unless it refuses them. A YUV
 * stream forced on an element whose model refuses it then fails to negotiate (the
 * debug log says why; docs/gstreamer.md too). Takes ownership of `caps`. */
GstCaps *gst_steg_restrict_formats (GstElement * element, GstCaps * caps,
    const GstStegYuv * yuv);

/* A GEnum type whose values are the choices of one of libsteg's enum parameters
 * (device, fit, channel, precision), so the property and the library never disagree. */
GType gst_steg_param_enum_type (enum steg_param param);

/* A GParamSpec made from libsteg's definition of `param`, under `name`. */
GParamSpec *gst_steg_param_spec (enum steg_param param, const gchar * name,
    GParamFlags extra_flags);

/* Settings shared by both elements (guarded by the object lock). */
typedef struct
{
  gchar *model;                 /* NULL: the shipped default model */
  enum steg_device device;
  gint threads;
  enum steg_precision precision;
} GstStegSettings;

void gst_steg_settings_init (GstStegSettings * s);
void gst_steg_settings_clear (GstStegSettings * s);

/* The three properties of GstStegSettings (model, device, threads), installed with the
 * ids first_id, first_id + 1 and first_id + 2. */
void gst_steg_settings_install_properties (GObjectClass * klass, guint first_id);

/* Set / get one of those properties, with the object lock held. FALSE if prop_id is
 * not one of them. */
gboolean gst_steg_settings_set_property (GstStegSettings * s, guint first_id,
    guint prop_id, const GValue * value);
gboolean gst_steg_settings_get_property (const GstStegSettings * s,
    guint first_id, guint prop_id, GValue * value);

/* Opens a context for `element` with the settings, posting an element error that
 * says what to do if the model is missing or broken. Returns NULL on failure. */
struct steg_context *gst_steg_open_context (GstElement * element,
    GstStegSettings * settings);

/* Where frames that libsteg cannot read in place are made RGB8: a buffer, and for YUV
 * frames the converters to RGB and back, made for the frames' video info and remade
 * when it changes. Used by one streaming thread. */
typedef struct
{
  GByteArray *bytes;
  GstVideoInfo info;            /* the YUV frames the converters are for */
  GstVideoConverter *to_rgb, *from_rgb;
} GstStegScratch;

void gst_steg_scratch_init (GstStegScratch * s);
void gst_steg_scratch_clear (GstStegScratch * s);

/* A video frame seen as a libsteg RGB8/RGBA8 image. Frames whose bytes are already
 * R, G, B(, A or x) are used in place; the other orders (BGR, xRGB, ...) are copied
 * into the scratch buffer as RGB8, and YUV frames converted into it; with
 * gst_steg_frame_unpack the RGB8 goes back into the frame. */
typedef struct
{
  struct steg_image image;
  gboolean packed;              /* TRUE: image points into scratch->bytes */
  GstStegScratch *scratch;
} GstStegFrameView;

void gst_steg_frame_view (GstVideoFrame * frame, GstStegScratch * scratch,
    GstStegFrameView * view);
void gst_steg_frame_unpack (const GstStegFrameView * view,
    GstVideoFrame * frame);

/* Processing latency: the slowest frame seen so far, reported with a quarter more
 * (and reported again only when it grows past that). */
typedef struct
{
  GstClockTime reported;        /* what LATENCY queries add */
  GstClockTime worst;
} GstStegLatency;

/* Records a frame that began at `begin` (gst_util_get_timestamp) and posts a latency
 * message when the processing latency grew. Takes the object lock. */
void gst_steg_latency_record (GstElement * element, GstStegLatency * l,
    GstClockTime begin);

/* Adds the processing latency to a LATENCY query already answered upstream. Takes
 * the object lock. */
void gst_steg_latency_adjust_query (GstElement * element, GstStegLatency * l,
    GstQuery * query);

G_END_DECLS

#endif /* __GST_STEG_UTIL_H__ */
