/* SPDX-License-Identifier: MIT */
/* gststegutil.c - glue shared by stegembed and stegreveal (see gststegutil.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gststegutil.h"


static const gchar *
enum_type_name (enum steg_param param)
{
  switch (param) {
    case STEG_PARAM_DEVICE:
      return "GstStegDevice";
    case STEG_PARAM_FIT:
      return "GstStegFit";
    case STEG_PARAM_CHANNEL:
      return "GstStegChannel";
    case STEG_PARAM_PRECISION:
      return "GstStegPrecision";
    default:
      return NULL;
  }
}

GType
gst_steg_param_enum_type (enum steg_param param)
{
  /* Registered once per parameter; the value tables live for the process, as
   * GLib requires of g_enum_register_static. */
  static GType types[STEG_PARAM_COUNT];
  static GMutex lock;
  const struct steg_param_spec *spec = steg_param_get (param);
  GType type;

  g_return_val_if_fail (spec && spec->kind == STEG_PARAM_KIND_ENUM, G_TYPE_INVALID);

  g_mutex_lock (&lock);
  type = types[param];
  if (type == 0) {
    gint n = 0, i;
    GEnumValue *values;

    while (spec->choices[n])
      n++;
    values = g_new0 (GEnumValue, n + 1);
    for (i = 0; i < n; i++) {
      values[i].value = i;
      /* As GStreamer's own enums: the nick is the name to type, the name says
       * what it does (gst-inspect-1.0 shows both). */
      values[i].value_name = g_strdup (spec->choice_help[i]);
      values[i].value_nick = spec->choices[i];
    }
    type = types[param] = g_enum_register_static (enum_type_name (param),
        values);
  }
  g_mutex_unlock (&lock);
  return type;
}

GParamSpec *
gst_steg_param_spec (enum steg_param param, const gchar * name,
    GParamFlags extra_flags)
{
  const struct steg_param_spec *spec = steg_param_get (param);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | extra_flags;

  switch (spec->kind) {
    case STEG_PARAM_KIND_STRING:
      /* The model's default is shown as the file it is (gst-inspect-1.0). */
      return g_param_spec_string (name, spec->nick, spec->help,
          param == STEG_PARAM_MODEL ? steg_default_model_path () : NULL, flags);
    case STEG_PARAM_KIND_INT:
      return g_param_spec_int (name, spec->nick, spec->help, spec->min_value,
          spec->max_value, spec->default_value, flags);
    case STEG_PARAM_KIND_ENUM:
      return g_param_spec_enum (name, spec->nick, spec->help,
          gst_steg_param_enum_type (param), spec->default_value, flags);
  }
  return NULL;
}

void
gst_steg_settings_init (GstStegSettings * s)
{
  s->model = NULL;
  s->device = steg_param_get (STEG_PARAM_DEVICE)->default_value;
  s->threads = steg_param_get (STEG_PARAM_THREADS)->default_value;
  s->precision = steg_param_get (STEG_PARAM_PRECISION)->default_value;
}

void
gst_steg_settings_clear (GstStegSettings * s)
{
  g_clear_pointer (&s->model, g_free);
}

void
gst_steg_settings_install_properties (GObjectClass * klass, guint first_id)
{
  g_object_class_install_property (klass, first_id,
      gst_steg_param_spec (STEG_PARAM_MODEL, "model",
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (klass, first_id + 1,
      gst_steg_param_spec (STEG_PARAM_DEVICE, "device",
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (klass, first_id + 2,
      gst_steg_param_spec (STEG_PARAM_THREADS, "threads",
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (klass, first_id + 3,
      gst_steg_param_spec (STEG_PARAM_PRECISION, "precision",
          GST_PARAM_MUTABLE_READY));
}

gboolean
gst_steg_settings_set_property (GstStegSettings * s, guint first_id,
    guint prop_id, const GValue * value)
{
  if (prop_id == first_id) {
    g_free (s->model);
    s->model = g_value_dup_string (value);
  } else if (prop_id == first_id + 1) {
    s->device = g_value_get_enum (value);
  } else if (prop_id == first_id + 2) {
    s->threads = g_value_get_int (value);
  } else if (prop_id == first_id + 3) {
    s->precision = g_value_get_enum (value);
  } else {
    return FALSE;
  }
  return TRUE;
}

gboolean
gst_steg_settings_get_property (const GstStegSettings * s, guint first_id,
    guint prop_id, GValue * value)
{
  if (prop_id == first_id)
    g_value_set_string (value, s->model ? s->model : steg_default_model_path ());
  else if (prop_id == first_id + 1)
    g_value_set_enum (value, s->device);
  else if (prop_id == first_id + 2)
    g_value_set_int (value, s->threads);
  else if (prop_id == first_id + 3)
    g_value_set_enum (value, s->precision);
  else
    return FALSE;
  return TRUE;
}

struct steg_context *
gst_steg_open_context (GstElement * element, GstStegSettings * settings)
{
  struct steg_context_params params = steg_context_default_params ();
  struct steg_context *ctx;
  gchar *model;

  GST_OBJECT_LOCK (element);
  model = g_strdup (settings->model);
  params.device = settings->device;
  params.n_threads = settings->threads;
  params.precision = settings->precision;
  GST_OBJECT_UNLOCK (element);

  if (model == NULL || model[0] == '\0') {
    const gchar *def = steg_default_model_path ();
    g_free (model);
    if (def == NULL)
      goto no_default_model;
    model = g_strdup (def);
  }

  ctx = steg_init_from_file (model, params);
  if (ctx == NULL)
    goto open_failed;
  GST_INFO_OBJECT (element, "model %s on %s in %s", model,
      steg_context_device (ctx), steg_context_precision (ctx));
  g_free (model);
  return ctx;

  /* ERRORS */
no_default_model:
  {
    GST_ELEMENT_ERROR (element, RESOURCE, NOT_FOUND,
        ("No model: set the 'model' property to a .safetensors file, or "
            "install steg's default model (or set STEG_MODEL)."), (NULL));
    return NULL;
  }
open_failed:
  {
    if (steg_last_status () == STEG_ERR_DEVICE) {
      GST_ELEMENT_ERROR (element, RESOURCE, NOT_FOUND,
          ("The requested device or precision is not available: set "
              "device=auto and precision=auto."), ("%s", steg_last_error ()));
    } else {
      GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
          ("Could not load the model \"%s\": point the 'model' property at a "
              "steg model file (.safetensors).", model),
          ("%s", steg_last_error ()));
    }
    g_free (model);
    return NULL;
  }
}

/* Byte offsets of R, G, B in a pixel of `finfo`, or FALSE if it is not packed RGB. */
static gboolean
rgb_offsets (const GstVideoFormatInfo * finfo, gint off[3])
{
  gint c;

  if (!GST_VIDEO_FORMAT_INFO_IS_RGB (finfo) || GST_VIDEO_FORMAT_INFO_N_PLANES
      (finfo) != 1 || GST_VIDEO_FORMAT_INFO_BITS (finfo) != 8)
    return FALSE;
  for (c = 0; c < 3; c++)
    off[c] = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, c);
  return TRUE;
}

GstStegYuv
gst_steg_model_takes_yuv (struct steg_context *ctx)
{
  return steg_model_survives_yuv420 (ctx) ? GST_STEG_YUV_TAKEN :
      GST_STEG_YUV_REFUSED;
}

GstCaps *
gst_steg_restrict_formats (GstElement * element, GstCaps * caps,
    const GstStegYuv * yuv)
{
  GstCaps *allowed, *result;
  gboolean refused;

  GST_OBJECT_LOCK (element);
  refused = *yuv == GST_STEG_YUV_REFUSED;
  GST_OBJECT_UNLOCK (element);
  if (!refused)
    return caps;
  allowed = gst_caps_from_string (GST_VIDEO_CAPS_MAKE (GST_STEG_RGB_FORMATS));
  result = gst_caps_intersect_full (caps, allowed, GST_CAPS_INTERSECT_FIRST);
  if (gst_caps_is_empty (result) && !gst_caps_is_empty (caps))
    GST_INFO_OBJECT (element, "refusing %" GST_PTR_FORMAT ": the model takes RGB "
        "only (it is not trained to survive YUV 4:2:0); use model=robust or "
        "convert to RGB first", caps);
  gst_caps_unref (allowed);
  gst_caps_unref (caps);
  return result;
}

void
gst_steg_scratch_init (GstStegScratch * s)
{
  s->bytes = g_byte_array_new ();
  gst_video_info_init (&s->info);
  s->to_rgb = s->from_rgb = NULL;
}

void
gst_steg_scratch_clear (GstStegScratch * s)
{
  g_clear_pointer (&s->bytes, g_byte_array_unref);
  g_clear_pointer (&s->to_rgb, gst_video_converter_free);
  g_clear_pointer (&s->from_rgb, gst_video_converter_free);
}

/* RGB frames like those of `info`: its size, rate, aspect and interlacing (what a
 * converter must keep), in RGB. */
static void
rgb_info_like (const GstVideoInfo * info, GstVideoInfo * rgb)
{
  gst_video_info_set_interlaced_format (rgb, GST_VIDEO_FORMAT_RGB,
      GST_VIDEO_INFO_INTERLACE_MODE (info), GST_VIDEO_INFO_WIDTH (info),
      GST_VIDEO_INFO_HEIGHT (info));
  rgb->fps_n = info->fps_n;
  rgb->fps_d = info->fps_d;
  rgb->par_n = info->par_n;
  rgb->par_d = info->par_d;
}

/* The scratch buffer as an RGB video frame like those of `info`, mapped with `flags`. */
static void
map_scratch (GstStegScratch * s, const GstVideoInfo * info,
    GstMapFlags flags, GstVideoFrame * rgb)
{
  GstVideoInfo rgb_info;
  GstBuffer *buf;

  rgb_info_like (info, &rgb_info);
  g_byte_array_set_size (s->bytes, (guint) GST_VIDEO_INFO_SIZE (&rgb_info));
  buf = gst_buffer_new_wrapped_full (0, s->bytes->data, s->bytes->len, 0,
      s->bytes->len, NULL, NULL);
  gst_video_frame_map (rgb, &rgb_info, buf, flags);
  gst_buffer_unref (buf);       /* the mapped frame holds it */
}

/* A YUV frame converted into the scratch buffer as RGB8, with the converters made
 * for its video info (remade when it changes). GStreamer pads RGB rows to 4 bytes: the
 * view keeps the scratch frame's stride. */
static void
view_yuv (GstVideoFrame * frame, GstStegScratch * s, GstStegFrameView * view)
{
  GstVideoFrame rgb;

  if (s->to_rgb == NULL || !gst_video_info_is_equal (&s->info, &frame->info)) {
    GstVideoInfo rgb_info;

    gst_steg_scratch_clear (s);
    s->bytes = g_byte_array_new ();
    s->info = frame->info;
    rgb_info_like (&frame->info, &rgb_info);
    s->to_rgb = gst_video_converter_new (&s->info, &rgb_info, NULL);
    s->from_rgb = gst_video_converter_new (&rgb_info, &s->info, NULL);
  }
  map_scratch (s, &frame->info, GST_MAP_WRITE, &rgb);
  gst_video_converter_frame (s->to_rgb, frame, &rgb);
  view->image.width = GST_VIDEO_FRAME_WIDTH (frame);
  view->image.height = GST_VIDEO_FRAME_HEIGHT (frame);
  view->image.format = STEG_FORMAT_RGB8;
  view->image.stride = GST_VIDEO_FRAME_PLANE_STRIDE (&rgb, 0);
  view->image.data = s->bytes->data;
  view->packed = TRUE;
  gst_video_frame_unmap (&rgb);
}

void
gst_steg_frame_view (GstVideoFrame * frame, GstStegScratch * scratch,
    GstStegFrameView * view)
{
  const GstVideoFormatInfo *finfo = frame->info.finfo;
  gint width = GST_VIDEO_FRAME_WIDTH (frame);
  gint height = GST_VIDEO_FRAME_HEIGHT (frame);
  gint pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint off[3] = { 0, 1, 2 };
  gint x, y;

  view->scratch = scratch;
  if (!rgb_offsets (finfo, off)) {      /* YUV: the caps admit it for such a model */
    view_yuv (frame, scratch, view);
    return;
  }

  view->image.width = width;
  view->image.height = height;
  view->image.stride = stride;
  view->image.data = data;
  view->packed = FALSE;

  /* R, G, B first: the frame is already what libsteg reads (a 4th byte, alpha or
   * padding, is left untouched by libsteg). */
  if (off[0] == 0 && off[1] == 1 && off[2] == 2) {
    view->image.format = pstride == 4 ? STEG_FORMAT_RGBA8 : STEG_FORMAT_RGB8;
    return;
  }

  g_byte_array_set_size (scratch->bytes, (guint) width * height * 3);
  for (y = 0; y < height; y++) {
    const guint8 *src = data + (gsize) y * stride;
    guint8 *dst = scratch->bytes->data + (gsize) y * width * 3;
    for (x = 0; x < width; x++, src += pstride, dst += 3) {
      dst[0] = src[off[0]];
      dst[1] = src[off[1]];
      dst[2] = src[off[2]];
    }
  }
  view->image.format = STEG_FORMAT_RGB8;
  view->image.stride = 0;
  view->image.data = scratch->bytes->data;
  view->packed = TRUE;
}

void
gst_steg_frame_unpack (const GstStegFrameView * view, GstVideoFrame * frame)
{
  gint width = GST_VIDEO_FRAME_WIDTH (frame);
  gint height = GST_VIDEO_FRAME_HEIGHT (frame);
  gint pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint off[3] = { 0, 1, 2 };
  gint x, y;

  if (!view->packed)
    return;
  if (!rgb_offsets (frame->info.finfo, off)) {
    GstVideoFrame rgb;

    map_scratch (view->scratch, &frame->info, GST_MAP_READ, &rgb);
    gst_video_converter_frame (view->scratch->from_rgb, &rgb, frame);
    gst_video_frame_unmap (&rgb);
    return;
  }
  for (y = 0; y < height; y++) {
    const guint8 *src = view->image.data + (gsize) y * width * 3;
    guint8 *dst = data + (gsize) y * stride;
    for (x = 0; x < width; x++, src += 3, dst += pstride) {
      dst[off[0]] = src[0];
      dst[off[1]] = src[1];
      dst[off[2]] = src[2];
    }
  }
}

/* TRUE when the reported latency grew, so a latency message is due. */
static gboolean
latency_add (GstStegLatency * l, GstClockTime spent)
{
  if (spent <= l->worst)
    return FALSE;
  l->worst = spent;
  if (l->reported != 0 && spent <= l->reported + l->reported / 4)
    return FALSE;
  /* Report a little more than the worst frame, so small jitter needs no update. */
  l->reported = spent + spent / 4;
  return TRUE;
}

void
gst_steg_latency_record (GstElement * element, GstStegLatency * l,
    GstClockTime begin)
{
  gboolean grew;

  GST_OBJECT_LOCK (element);
  grew = latency_add (l, gst_util_get_timestamp () - begin);
  GST_OBJECT_UNLOCK (element);
  if (grew)
    gst_element_post_message (element,
        gst_message_new_latency (GST_OBJECT (element)));
}

void
gst_steg_latency_adjust_query (GstElement * element, GstStegLatency * l,
    GstQuery * query)
{
  gboolean live;
  GstClockTime min, max, ours;

  gst_query_parse_latency (query, &live, &min, &max);
  GST_OBJECT_LOCK (element);
  ours = l->reported;
  GST_OBJECT_UNLOCK (element);
  GST_DEBUG_OBJECT (element, "adding processing latency %" GST_TIME_FORMAT,
      GST_TIME_ARGS (ours));
  gst_query_set_latency (query, live, min + ours,
      GST_CLOCK_TIME_IS_VALID (max) ? max + ours : max);
}
