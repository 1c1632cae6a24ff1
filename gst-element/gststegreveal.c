/* SPDX-License-Identifier: MIT */
/* gststegreveal.c - stegreveal: hybrid video in, the hidden payload out as GRAY8.
 *
 * SECTION:element-stegreveal
 * @title: stegreveal
 * @see_also: stegembed
 *
 * Runs steg's CNN decoder (Rehman et al. 2017) on every frame of a hybrid video made
 * by stegembed (or by `steg hide`) and outputs the recovered payload as a GRAY8
 * video of the same size and timing.
 *
 * The hybrid must reach stegreveal exactly as stegembed produced it: decode it from a
 * lossless format (FFV1, PNG) and keep it in RGB. A YUV 4:2:0 round trip or a lossy
 * codec on the way destroys most of the payload.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=hybrid.mkv ! matroskademux ! avdec_ffv1 ! \
 *     videoconvert ! video/x-raw,format=RGB ! stegreveal ! videoconvert ! autovideosink
 * ]| Shows the payload hidden in a lossless FFV1 file.
 * |[
 * gst-launch-1.0 multifilesrc location=hybrid-%03d.png index=0 \
 *     caps=image/png,framerate=25/1 ! pngdec ! stegreveal ! pngenc ! \
 *     multifilesink location=revealed-%03d.png
 * ]| Reveals a PNG sequence frame by frame.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gststegreveal.h"

GST_DEBUG_CATEGORY_STATIC (gst_steg_reveal_debug);
#define GST_CAT_DEFAULT gst_steg_reveal_debug

enum
{
  PROP_0,
  PROP_MODEL,                   /* model, device, threads, precision: consecutive, */
  PROP_DEVICE,                  /* see gst_steg_settings_install_properties */
  PROP_THREADS,
  PROP_PRECISION,
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_STEG_FORMATS)));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE ("GRAY8")));

#define gst_steg_reveal_parent_class parent_class
G_DEFINE_TYPE (GstStegReveal, gst_steg_reveal, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (stegreveal, "stegreveal", GST_RANK_NONE,
    GST_TYPE_STEG_REVEAL);

static void
gst_steg_reveal_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstStegReveal *self = GST_STEG_REVEAL (object);

  gboolean known;

  GST_OBJECT_LOCK (self);
  known = gst_steg_settings_set_property (&self->settings, PROP_MODEL, prop_id,
          value);
  GST_OBJECT_UNLOCK (self);
  if (!known)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_steg_reveal_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstStegReveal *self = GST_STEG_REVEAL (object);

  gboolean known;

  GST_OBJECT_LOCK (self);
  known = gst_steg_settings_get_property (&self->settings, PROP_MODEL, prop_id,
          value);
  GST_OBJECT_UNLOCK (self);
  if (!known)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

/* The same size and timing on both sides; only the format changes. */
static GstCaps *
gst_steg_reveal_transform_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * filter)
{
  GstCaps *result = gst_caps_new_empty ();
  GValue formats = G_VALUE_INIT;
  guint i;

  if (direction == GST_PAD_SRC) {
    GstCaps *templ = gst_static_caps_get (&sink_template.static_caps);
    gst_value_init_and_copy (&formats,
        gst_structure_get_value (gst_caps_get_structure (templ, 0), "format"));
    gst_caps_unref (templ);
  } else {
    g_value_init (&formats, G_TYPE_STRING);
    g_value_set_static_string (&formats, "GRAY8");
  }

  for (i = 0; i < gst_caps_get_size (caps); i++) {
    GstStructure *s = gst_structure_copy (gst_caps_get_structure (caps, i));
    gst_structure_set_value (s, "format", &formats);
    gst_structure_remove_fields (s, "colorimetry", "chroma-site", NULL);
    gst_caps_append_structure_full (result, s,
        gst_caps_features_copy (gst_caps_get_features (caps, i)));
  }
  g_value_unset (&formats);
  if (direction == GST_PAD_SRC)         /* YUV hybrids only for a model made for them */
    result = gst_steg_restrict_formats (GST_ELEMENT (trans), result,
        &GST_STEG_REVEAL (trans)->takes_yuv);

  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, result,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (result);
    result = tmp;
  }
  GST_DEBUG_OBJECT (trans, "%" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT, caps,
      result);
  return result;
}

static gboolean
gst_steg_reveal_start (GstBaseTransform * trans)
{
  GstStegReveal *self = GST_STEG_REVEAL (trans);

  self->ctx = gst_steg_open_context (GST_ELEMENT (self), &self->settings);
  gst_steg_scratch_init (&self->scratch);
  GST_OBJECT_LOCK (self);
  self->latency.reported = self->latency.worst = 0;
  self->takes_yuv = gst_steg_model_takes_yuv (self->ctx);
  GST_OBJECT_UNLOCK (self);
  return self->ctx != NULL;
}

static gboolean
gst_steg_reveal_stop (GstBaseTransform * trans)
{
  GstStegReveal *self = GST_STEG_REVEAL (trans);

  g_clear_pointer (&self->ctx, steg_free);
  gst_steg_scratch_clear (&self->scratch);
  GST_OBJECT_LOCK (self);
  self->takes_yuv = GST_STEG_YUV_UNKNOWN;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_steg_reveal_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstStegReveal *self = GST_STEG_REVEAL (trans);
  gboolean ret = GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans,
      direction, query);

  if (ret && direction == GST_PAD_SRC
      && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY)
    gst_steg_latency_adjust_query (GST_ELEMENT (self), &self->latency, query);
  return ret;
}

static GstFlowReturn
gst_steg_reveal_transform_frame (GstVideoFilter * filter,
    GstVideoFrame * in_frame, GstVideoFrame * out_frame)
{
  GstStegReveal *self = GST_STEG_REVEAL (filter);
  GstStegFrameView hybrid;
  struct steg_image payload;
  GstClockTime begin = gst_util_get_timestamp ();

  gst_steg_frame_view (in_frame, &self->scratch, &hybrid);
  payload.width = GST_VIDEO_FRAME_WIDTH (out_frame);
  payload.height = GST_VIDEO_FRAME_HEIGHT (out_frame);
  payload.format = STEG_FORMAT_GRAY8;
  payload.stride = GST_VIDEO_FRAME_PLANE_STRIDE (out_frame, 0);
  payload.data = GST_VIDEO_FRAME_PLANE_DATA (out_frame, 0);

  if (steg_reveal (self->ctx, &hybrid.image, &payload) != STEG_OK)
    goto reveal_failed;

  gst_steg_latency_record (GST_ELEMENT (self), &self->latency, begin);
  return GST_FLOW_OK;

  /* ERRORS */
reveal_failed:
  {
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Could not reveal the payload of a frame."), ("%s",
            steg_last_error ()));
    return GST_FLOW_ERROR;
  }
}

static void
gst_steg_reveal_finalize (GObject * object)
{
  GstStegReveal *self = GST_STEG_REVEAL (object);

  gst_steg_settings_clear (&self->settings);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_steg_reveal_class_init (GstStegRevealClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_steg_reveal_debug, "stegreveal", 0,
      "steg payload recovery");

  gobject_class->set_property = gst_steg_reveal_set_property;
  gobject_class->get_property = gst_steg_reveal_get_property;
  gobject_class->finalize = gst_steg_reveal_finalize;

  gst_steg_settings_install_properties (gobject_class, PROP_MODEL);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Steganography payload reveal", "Filter/Effect/Video",
      "Recovers the image hidden by stegembed in each frame (GRAY8 out). With "
      "the default model the frames must have stayed RGB and lossless since "
      "stegembed; a model trained through YUV and lossy codecs also takes "
      "I420, NV12 and YUY2. For example: "
      "filesrc location=hybrid.mkv ! matroskademux ! avdec_ffv1 ! videoconvert ! "
      "video/x-raw,format=RGB ! stegreveal ! pngenc ! "
      "multifilesink location=revealed-%04d.png", "steg developers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, STEG_GST_DOC_URI);

  trans_class->transform_caps =
      GST_DEBUG_FUNCPTR (gst_steg_reveal_transform_caps);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_steg_reveal_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_steg_reveal_stop);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_steg_reveal_query);
  filter_class->transform_frame =
      GST_DEBUG_FUNCPTR (gst_steg_reveal_transform_frame);

  gst_type_mark_as_plugin_api (gst_steg_param_enum_type (STEG_PARAM_DEVICE), 0);
  gst_type_mark_as_plugin_api (gst_steg_param_enum_type (STEG_PARAM_PRECISION),
      0);
}

static void
gst_steg_reveal_init (GstStegReveal * self)
{
  gst_steg_settings_init (&self->settings);
}
