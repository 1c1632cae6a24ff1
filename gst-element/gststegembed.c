/* SPDX-License-Identifier: MIT */
/* gststegembed.c - stegembed: hides a payload in every frame of a cover video.
 *
 * SECTION:element-stegembed
 * @title: stegembed
 * @see_also: stegreveal
 *
 * Runs steg's CNN encoder (Rehman et al. 2017) on every cover frame and outputs the
 * hybrid frame: it looks like the cover, and stegreveal (or `steg reveal`) recovers
 * from it a gray image of the same size, the payload, at 8 bits per pixel.
 *
 * The payload is either a still image (the `payload` property: any PNG, JPEG or WebP, fitted
 * to the frame size and hidden in every frame) or a second video linked to the
 * `payload` request pad. Each cover frame then carries the payload frame whose running
 * time is the latest at or before its own (the first payload frame covers anything
 * earlier, the last one everything after the payload stream's EOS). The cover waits
 * for the payload stream as a compositor waits for its inputs, so give each branch a
 * `queue` when both come from one source.
 *
 * With the default model the hybrid must stay lossless and in RGB all the way to a
 * file: encode it with FFV1 (in Matroska) or as PNG frames. A YUV 4:2:0 conversion or a
 * lossy codec destroys most of the payload, so put `videoconvert` only before
 * stegembed and after stegreveal, and pin RGB caps in between. A model trained through
 * 4:2:0 and lossy codecs (steg-trainer --transport; its `transport` metadata says so)
 * also takes I420, YV12, NV12 and YUY2 frames, converted with GStreamer's own video
 * converter, so it can sit between a decoder and an encoder.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! video/x-raw,format=RGB,width=640,height=480 ! \
 *     stegembed payload=secret.png ! videoconvert ! video/x-raw,format=BGRx ! \
 *     avenc_ffv1 ! matroskamux ! filesink location=hybrid.mkv
 * ]| Hides secret.png in 100 frames and stores them losslessly.
 * |[
 * gst-launch-1.0 stegembed name=e ! videoconvert ! video/x-raw,format=BGRx ! avenc_ffv1 ! \
 *     matroskamux ! filesink location=hybrid.mkv \
 *     filesrc location=cover.mp4 ! decodebin ! videoconvert ! video/x-raw,format=RGB ! queue ! e.sink \
 *     filesrc location=secret.mp4 ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 ! queue ! e.payload
 * ]| Hides one video in another, frame by frame.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gststegembed.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_steg_embed_debug);
#define GST_CAT_DEFAULT gst_steg_embed_debug

/* Payload frames held ahead of the cover: enough to pick the right one, few enough
 * that a fast payload stream waits instead of filling memory. */
#define PAYLOAD_QUEUE_MAX 4

enum
{
  PROP_0,
  PROP_MODEL,                   /* model, device, threads, precision: consecutive, */
  PROP_DEVICE,                  /* see gst_steg_settings_install_properties */
  PROP_THREADS,
  PROP_PRECISION,
  PROP_PAYLOAD,
  PROP_PAYLOAD_CHANNEL,
  PROP_FIT,
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_STEG_FORMATS)));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_STEG_FORMATS)));

/* Formats whose bytes libsteg reads directly (RGBx's padding is read as alpha and
 * ignored); other payload formats go through videoconvert first. */
static GstStaticPadTemplate payload_template =
GST_STATIC_PAD_TEMPLATE ("payload",
    GST_PAD_SINK,
    GST_PAD_REQUEST,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE ("{ GRAY8, RGB, RGBA, RGBx }")));

#define gst_steg_embed_parent_class parent_class
G_DEFINE_TYPE (GstStegEmbed, gst_steg_embed, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (stegembed, "stegembed", GST_RANK_NONE,
    GST_TYPE_STEG_EMBED);

/* Keys of the fitted-payload cache: none, the still image, then payload frames. */
#define FITTED_NONE 0
#define FITTED_STILL 1

static void
payload_frame_free (gpointer data)
{
  GstStegPayloadFrame *frame = data;

  steg_image_free (&frame->image);
  g_free (frame);
}

/* With self->lock held. */
static void
payload_queue_clear (GstStegEmbed * self)
{
  g_queue_clear_full (&self->payload_queue, payload_frame_free);
  g_cond_broadcast (&self->cond);
}

static void
gst_steg_embed_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstStegEmbed *self = GST_STEG_EMBED (object);

  GST_OBJECT_LOCK (self);
  if (gst_steg_settings_set_property (&self->settings, PROP_MODEL, prop_id,
          value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_PAYLOAD:
      g_free (self->payload_path);
      self->payload_path = g_value_dup_string (value);
      self->payload_changed = TRUE;
      break;
    case PROP_PAYLOAD_CHANNEL:
      self->channel = g_value_get_enum (value);
      break;
    case PROP_FIT:
      self->fit = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_steg_embed_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstStegEmbed *self = GST_STEG_EMBED (object);

  GST_OBJECT_LOCK (self);
  if (gst_steg_settings_get_property (&self->settings, PROP_MODEL, prop_id,
          value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_PAYLOAD:
      g_value_set_string (value, self->payload_path);
      break;
    case PROP_PAYLOAD_CHANNEL:
      g_value_set_enum (value, self->channel);
      break;
    case PROP_FIT:
      g_value_set_enum (value, self->fit);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---- the payload pad ---------------------------------------------------- */

static gboolean
gst_steg_embed_payload_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  GstStegEmbed *self = GST_STEG_EMBED (parent);
  gboolean ret = TRUE;

  GST_LOG_OBJECT (pad, "%" GST_PTR_FORMAT, event);
  g_mutex_lock (&self->lock);
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      ret = gst_video_info_from_caps (&self->payload_info, caps);
      break;
    }
    case GST_EVENT_SEGMENT:{
      const GstSegment *segment;
      gst_event_parse_segment (event, &segment);
      if (segment->format == GST_FORMAT_TIME)
        gst_segment_copy_into (segment, &self->payload_segment);
      else
        ret = FALSE;
      break;
    }
    case GST_EVENT_STREAM_START:
      self->payload_eos = FALSE;
      break;
    case GST_EVENT_EOS:
      self->payload_eos = TRUE;
      g_cond_broadcast (&self->cond);
      break;
    case GST_EVENT_FLUSH_START:
      self->payload_flushing = TRUE;
      g_cond_broadcast (&self->cond);
      break;
    case GST_EVENT_FLUSH_STOP:
      self->payload_flushing = FALSE;
      self->payload_eos = FALSE;
      gst_segment_init (&self->payload_segment, GST_FORMAT_TIME);
      payload_queue_clear (self);
      break;
    default:
      /* The payload stream's other events do not concern the output. */
      break;
  }
  g_mutex_unlock (&self->lock);
  gst_event_unref (event);
  return ret;
}

static gboolean
gst_steg_embed_payload_query (GstPad * pad, GstObject * parent,
    GstQuery * query)
{
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS:
    case GST_QUERY_ACCEPT_CAPS:
      /* Answered from the pad template; nothing is forwarded downstream. */
      return gst_pad_query_default (pad, parent, query);
    default:
      return FALSE;
  }
}

/* Copies a mapped payload frame into a packed libsteg image. */
static gboolean
copy_payload_frame (GstVideoFrame * vframe, struct steg_image *out)
{
  enum steg_format format;
  gint y, row;

  switch (GST_VIDEO_FRAME_FORMAT (vframe)) {
    case GST_VIDEO_FORMAT_GRAY8:
      format = STEG_FORMAT_GRAY8;
      break;
    case GST_VIDEO_FORMAT_RGB:
      format = STEG_FORMAT_RGB8;
      break;
    default:                   /* RGBA, RGBx */
      format = STEG_FORMAT_RGBA8;
      break;
  }
  if (steg_image_alloc (out, GST_VIDEO_FRAME_WIDTH (vframe),
          GST_VIDEO_FRAME_HEIGHT (vframe), format) != STEG_OK)
    return FALSE;
  row = out->width * steg_format_channels (format);
  for (y = 0; y < out->height; y++)
    memcpy (out->data + (gsize) y * row,
        (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (vframe, 0) +
        (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (vframe, 0), row);
  return TRUE;
}

static GstFlowReturn
gst_steg_embed_payload_chain (GstPad * pad, GstObject * parent,
    GstBuffer * buffer)
{
  GstStegEmbed *self = GST_STEG_EMBED (parent);
  GstStegPayloadFrame *frame;
  GstVideoFrame vframe;
  GstVideoInfo info;

  g_mutex_lock (&self->lock);
  while (g_queue_get_length (&self->payload_queue) >= PAYLOAD_QUEUE_MAX
      && !self->payload_flushing)
    g_cond_wait (&self->cond, &self->lock);
  if (self->payload_flushing)
    goto flushing;
  if (GST_VIDEO_INFO_FORMAT (&self->payload_info) == GST_VIDEO_FORMAT_UNKNOWN)
    goto not_negotiated;
  info = self->payload_info;
  frame = g_new0 (GstStegPayloadFrame, 1);
  frame->serial = self->next_serial++;
  frame->running_time = gst_segment_to_running_time (&self->payload_segment,
      GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  g_mutex_unlock (&self->lock);

  if (!gst_video_frame_map (&vframe, &info, buffer, GST_MAP_READ))
    goto map_failed;
  if (!copy_payload_frame (&vframe, &frame->image)) {
    gst_video_frame_unmap (&vframe);
    goto map_failed;
  }
  gst_video_frame_unmap (&vframe);
  gst_buffer_unref (buffer);

  GST_LOG_OBJECT (pad, "payload frame at running time %" GST_TIME_FORMAT,
      GST_TIME_ARGS (frame->running_time));
  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->payload_queue, frame);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return GST_FLOW_OK;

  /* ERRORS */
flushing:
  {
    g_mutex_unlock (&self->lock);
    gst_buffer_unref (buffer);
    return GST_FLOW_FLUSHING;
  }
not_negotiated:
  {
    g_mutex_unlock (&self->lock);
    gst_buffer_unref (buffer);
    return GST_FLOW_NOT_NEGOTIATED;
  }
map_failed:
  {
    g_free (frame);
    gst_buffer_unref (buffer);
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Could not read a frame of the payload video."), (NULL));
    return GST_FLOW_ERROR;
  }
}

static GstPad *
gst_steg_embed_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * name, const GstCaps * caps)
{
  GstStegEmbed *self = GST_STEG_EMBED (element);
  GstPad *pad;

  /* Only a request by name ("e.payload", gst_element_request_pad_simple (e,
   * "payload")) gets the payload pad. Automatic linking asks without a name, and
   * would otherwise hand a cover that the sink pad refuses (GRAY8, say) to the
   * payload pad, where the pipeline then waits for a cover forever. */
  if (name == NULL) {
    GST_INFO_OBJECT (self, "the payload pad is only linked by name (e.payload)");
    return NULL;
  }
  g_mutex_lock (&self->lock);
  if (self->payload_pad) {
    g_mutex_unlock (&self->lock);
    GST_WARNING_OBJECT (self, "there is only one payload pad");
    return NULL;
  }
  pad = gst_pad_new_from_template (templ, "payload");
  gst_pad_set_chain_function (pad,
      GST_DEBUG_FUNCPTR (gst_steg_embed_payload_chain));
  gst_pad_set_event_function (pad,
      GST_DEBUG_FUNCPTR (gst_steg_embed_payload_event));
  gst_pad_set_query_function (pad,
      GST_DEBUG_FUNCPTR (gst_steg_embed_payload_query));
  GST_PAD_SET_ACCEPT_TEMPLATE (pad);
  self->payload_pad = pad;
  gst_video_info_init (&self->payload_info);
  gst_segment_init (&self->payload_segment, GST_FORMAT_TIME);
  self->payload_eos = FALSE;
  g_mutex_unlock (&self->lock);

  gst_element_add_pad (element, pad);
  return pad;
}

static void
gst_steg_embed_release_pad (GstElement * element, GstPad * pad)
{
  GstStegEmbed *self = GST_STEG_EMBED (element);

  g_mutex_lock (&self->lock);
  if (pad != self->payload_pad) {
    g_mutex_unlock (&self->lock);
    return;
  }
  self->payload_pad = NULL;
  payload_queue_clear (self);
  g_mutex_unlock (&self->lock);
  gst_element_remove_pad (element, pad);
}

/* ---- the cover stream ----------------------------------------------------- */

static gboolean
gst_steg_embed_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstStegEmbed *self = GST_STEG_EMBED (trans);

  /* A flush must wake a cover frame waiting for the payload stream. */
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_START:
      g_mutex_lock (&self->lock);
      self->cover_flushing = TRUE;
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
      break;
    case GST_EVENT_FLUSH_STOP:
      g_mutex_lock (&self->lock);
      self->cover_flushing = FALSE;
      g_mutex_unlock (&self->lock);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
load_still_payload (GstStegEmbed * self)
{
  gchar *path;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->payload_path);
  self->payload_changed = FALSE;
  GST_OBJECT_UNLOCK (self);

  steg_image_free (&self->still);
  self->fitted_serial = FITTED_NONE;
  if (path == NULL || path[0] == '\0') {
    g_free (path);
    return TRUE;
  }
  if (steg_image_load (path, 0, &self->still) != STEG_OK) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("Could not read the payload image \"%s\": set the 'payload' property "
            "to a readable PNG, JPEG or WebP file.", path),
        ("%s", steg_last_error ()));
    g_free (path);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "payload %s: %dx%d", path, self->still.width,
      self->still.height);
  g_free (path);
  return TRUE;
}

/* After negotiation, follows the hybrid downstream through elements with one source
 * pad while it stays raw RGB video, and returns the first converter (an element of
 * class Converter, such as videoconvert) that turns it into a format other than RGB (a
 * YUV or gray one, which loses most of the payload), with that format in *format; NULL
 * when there is none (other elements that output something else, such as stegreveal's
 * gray payload, end the walk), and also, with *unknown set, when a step has not
 * negotiated yet. */
static GstElement *
find_colour_conversion (GstStegEmbed * self, const gchar ** format,
    gboolean * unknown)
{
  GstPad *pad = gst_object_ref (GST_BASE_TRANSFORM_SRC_PAD (self));
  GstElement *found = NULL;
  guint hops;

  *unknown = FALSE;
  for (hops = 0; hops < 8 && pad && !found; hops++) {
    GstPad *peer = gst_pad_get_peer (pad);
    GstElement *next = peer ? gst_pad_get_parent_element (peer) : NULL;
    GstPad *src = NULL;
    GstCaps *caps = NULL;
    GstVideoInfo info;

    gst_clear_object (&pad);
    if (next && next->numsrcpads == 1) {
      GST_OBJECT_LOCK (next);
      src = gst_object_ref (GST_PAD (next->srcpads->data));
      GST_OBJECT_UNLOCK (next);
      caps = gst_pad_get_current_caps (src);
      if (!caps)
        *unknown = TRUE;
      else if (gst_structure_has_name (gst_caps_get_structure (caps, 0),
              "video/x-raw") && gst_video_info_from_caps (&info, caps)) {
        const gchar *klass = gst_element_get_metadata (next,
            GST_ELEMENT_METADATA_KLASS);

        if (!GST_VIDEO_FORMAT_INFO_IS_RGB (info.finfo)) {
          if (klass && strstr (klass, "Converter")) {
            found = gst_object_ref (next);
            *format = GST_VIDEO_INFO_NAME (&info);
          }
        } else {
          pad = gst_object_ref (src);   /* still RGB: look one step further */
        }
      }
    }
    if (caps)
      gst_caps_unref (caps);
    gst_clear_object (&src);
    gst_clear_object (&next);
    gst_clear_object (&peer);
  }
  gst_clear_object (&pad);
  return found;
}

/* Posts one warning when the hybrid is converted to YUV (or gray) right after us:
 * the most obvious pipeline does it and silently loses the payload. */
static void
check_downstream_colour (GstStegEmbed * self)
{
  const gchar *format = NULL;
  gboolean unknown;
  GstElement *conv = find_colour_conversion (self, &format, &unknown);

  if (conv) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("The hybrid leaves stegembed as RGB, but '%s' converts it to %s, which "
            "loses the hidden payload.", GST_OBJECT_NAME (conv), format),
        ("Pin an RGB format after stegembed and keep the transport lossless, "
            "e.g. '! videoconvert ! video/x-raw,format=BGRx ! avenc_ffv1 ! "
            "matroskamux' (see the transport table in docs/gstreamer.md)."));
    gst_object_unref (conv);
    self->downstream_checks = 0;
  } else if (!unknown || --self->downstream_checks == 0) {
    self->downstream_checks = 0;        /* all RGB, or never negotiated: stop */
  }
}

static gboolean
gst_steg_embed_start (GstBaseTransform * trans)
{
  GstStegEmbed *self = GST_STEG_EMBED (trans);

  gst_steg_scratch_init (&self->scratch);
  self->downstream_checks = 25;
  GST_OBJECT_LOCK (self);
  self->latency.reported = self->latency.worst = 0;
  GST_OBJECT_UNLOCK (self);
  if (!load_still_payload (self))
    return FALSE;
  self->ctx = gst_steg_open_context (GST_ELEMENT (self), &self->settings);
  GST_OBJECT_LOCK (self);
  self->takes_yuv = gst_steg_model_takes_yuv (self->ctx);
  GST_OBJECT_UNLOCK (self);
  if (self->takes_yuv == GST_STEG_YUV_TAKEN)
    self->downstream_checks = 0;        /* a YUV step after us is what it is made for */
  return self->ctx != NULL;
}

/* The same caps on both sides, the YUV formats only with a model made for them. */
static GstCaps *
gst_steg_embed_transform_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * filter)
{
  GstStegEmbed *self = GST_STEG_EMBED (trans);

  return gst_steg_restrict_formats (GST_ELEMENT (self),
      GST_BASE_TRANSFORM_CLASS (parent_class)->transform_caps (trans, direction,
          caps, filter), &self->takes_yuv);
}

static gboolean
gst_steg_embed_stop (GstBaseTransform * trans)
{
  GstStegEmbed *self = GST_STEG_EMBED (trans);

  g_clear_pointer (&self->ctx, steg_free);
  gst_steg_scratch_clear (&self->scratch);
  GST_OBJECT_LOCK (self);
  self->takes_yuv = GST_STEG_YUV_UNKNOWN;
  GST_OBJECT_UNLOCK (self);
  steg_image_free (&self->still);
  steg_image_free (&self->fitted);
  self->fitted_serial = FITTED_NONE;
  return TRUE;
}

/* Makes self->fitted the payload to hide at `running_time`: the payload video's
 * frame for that time when the payload pad is linked, else the still image. Waits
 * for the payload stream to get past `running_time`. */
static GstFlowReturn
select_payload (GstStegEmbed * self, GstClockTime running_time, gint width,
    gint height, enum steg_fit fit, enum steg_channel channel)
{
  const struct steg_image *source = NULL;
  guint64 key = FITTED_NONE;
  GstFlowReturn ret = GST_FLOW_OK;

  g_mutex_lock (&self->lock);
  if (self->payload_pad && gst_pad_is_linked (self->payload_pad)) {
    GstStegPayloadFrame *head, *tail;

    for (;;) {
      if (self->cover_flushing) {
        ret = GST_FLOW_FLUSHING;
        goto done;
      }
      /* Drop the frames whose successor is already due. */
      while (g_queue_get_length (&self->payload_queue) >= 2 &&
          GST_CLOCK_TIME_IS_VALID (running_time) &&
          ((GstStegPayloadFrame *) g_queue_peek_nth (&self->payload_queue,
                  1))->running_time <= running_time) {
        payload_frame_free (g_queue_pop_head (&self->payload_queue));
        g_cond_broadcast (&self->cond);
      }
      tail = g_queue_peek_tail (&self->payload_queue);
      if (self->payload_eos || (tail && (!GST_CLOCK_TIME_IS_VALID (running_time)
                  || tail->running_time > running_time)))
        break;
      GST_LOG_OBJECT (self, "the cover frame waits for the payload stream");
      g_cond_wait (&self->cond, &self->lock);
    }
    head = g_queue_peek_head (&self->payload_queue);
    if (head) {
      source = &head->image;
      key = head->serial;
    }
  }
  if (source == NULL && self->still.data) {
    source = &self->still;
    key = FITTED_STILL;
  }
  if (source == NULL) {
    ret = GST_FLOW_ERROR;
    goto done;
  }

  if (key != self->fitted_serial || self->fitted.width != width
      || self->fitted.height != height || fit != self->fitted_fit
      || channel != self->fitted_channel) {
    steg_image_free (&self->fitted);
    self->fitted_serial = FITTED_NONE;
    if (steg_payload_prepare (source, width, height, fit, channel,
            &self->fitted) != STEG_OK) {
      ret = GST_FLOW_ERROR;
      goto done;
    }
    self->fitted_serial = key;
    self->fitted_fit = fit;
    self->fitted_channel = channel;
  }

done:
  g_mutex_unlock (&self->lock);
  if (ret == GST_FLOW_ERROR) {
    if (source == NULL)
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("Nothing to hide: set payload=PATH to an image file, or link a "
              "video to the payload pad."), (NULL));
    else
      GST_ELEMENT_ERROR (self, STREAM, FAILED,
          ("Could not fit the payload to the frame."), ("%s",
              steg_last_error ()));
  }
  return ret;
}

static GstFlowReturn
gst_steg_embed_transform_frame_ip (GstVideoFilter * filter,
    GstVideoFrame * frame)
{
  GstStegEmbed *self = GST_STEG_EMBED (filter);
  GstBaseTransform *trans = GST_BASE_TRANSFORM (filter);
  GstClockTime begin = gst_util_get_timestamp ();
  GstClockTime running_time;
  GstStegFrameView cover;
  enum steg_fit fit;
  enum steg_channel channel;
  gboolean reload;
  GstFlowReturn ret;

  GST_OBJECT_LOCK (self);
  fit = self->fit;
  channel = self->channel;
  reload = self->payload_changed;
  GST_OBJECT_UNLOCK (self);
  if (reload && !load_still_payload (self))
    return GST_FLOW_ERROR;

  running_time = gst_segment_to_running_time (&trans->segment,
      GST_FORMAT_TIME, GST_BUFFER_PTS (frame->buffer));
  ret = select_payload (self, running_time, GST_VIDEO_FRAME_WIDTH (frame),
      GST_VIDEO_FRAME_HEIGHT (frame), fit, channel);
  if (ret != GST_FLOW_OK)
    return ret;

  gst_steg_frame_view (frame, &self->scratch, &cover);
  if (steg_hide (self->ctx, &cover.image, &self->fitted,
          &cover.image) != STEG_OK)
    goto hide_failed;
  gst_steg_frame_unpack (&cover, frame);

  gst_steg_latency_record (GST_ELEMENT (self), &self->latency, begin);
  if (self->downstream_checks)
    check_downstream_colour (self);
  return GST_FLOW_OK;

  /* ERRORS */
hide_failed:
  {
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Could not hide the payload in a frame."), ("%s",
            steg_last_error ()));
    return GST_FLOW_ERROR;
  }
}

static gboolean
gst_steg_embed_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstStegEmbed *self = GST_STEG_EMBED (trans);
  gboolean ret = GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans,
      direction, query);

  if (ret && direction == GST_PAD_SRC
      && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY)
    gst_steg_latency_adjust_query (GST_ELEMENT (self), &self->latency, query);
  return ret;
}

static GstStateChangeReturn
gst_steg_embed_change_state (GstElement * element, GstStateChange transition)
{
  GstStegEmbed *self = GST_STEG_EMBED (element);

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      g_mutex_lock (&self->lock);
      self->cover_flushing = self->payload_flushing = FALSE;
      self->payload_eos = FALSE;
      gst_segment_init (&self->payload_segment, GST_FORMAT_TIME);
      payload_queue_clear (self);
      g_mutex_unlock (&self->lock);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      /* Wake both streaming threads before their pads are deactivated. */
      g_mutex_lock (&self->lock);
      self->cover_flushing = self->payload_flushing = TRUE;
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
      break;
    default:
      break;
  }
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static void
gst_steg_embed_finalize (GObject * object)
{
  GstStegEmbed *self = GST_STEG_EMBED (object);

  gst_steg_settings_clear (&self->settings);
  g_free (self->payload_path);
  g_queue_clear_full (&self->payload_queue, payload_frame_free);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_steg_embed_class_init (GstStegEmbedClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_steg_embed_debug, "stegembed", 0,
      "steg payload embedding");

  gobject_class->set_property = gst_steg_embed_set_property;
  gobject_class->get_property = gst_steg_embed_get_property;
  gobject_class->finalize = gst_steg_embed_finalize;

  gst_steg_settings_install_properties (gobject_class, PROP_MODEL);
  g_object_class_install_property (gobject_class, PROP_PAYLOAD,
      g_param_spec_string ("payload", "Payload image",
          "image file (PNG, JPEG or WebP, any size) hidden in every frame when no "
          "video is linked to the payload pad; it is fitted to the frame size",
          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PAYLOAD_CHANNEL,
      gst_steg_param_spec (STEG_PARAM_CHANNEL, "payload-channel",
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_FIT,
      gst_steg_param_spec (STEG_PARAM_FIT, "fit", GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_add_static_pad_template (element_class, &payload_template);
  gst_element_class_set_static_metadata (element_class,
      "Steganography embedder", "Filter/Effect/Video",
      "Hides a gray image (8 bits per pixel) in every RGB video frame with a "
      "CNN encoder. With the default model the frames must stay RGB and "
      "lossless to keep it (FFV1 in RGB, PNG; YUV, JPEG and lossy codecs lose "
      "it); a model trained through them also takes I420, NV12 and YUY2. For "
      "example: "
      "videoconvert ! video/x-raw,format=RGB ! stegembed payload=secret.png ! "
      "videoconvert ! video/x-raw,format=BGRx ! avenc_ffv1 ! matroskamux ! "
      "filesink location=hybrid.mkv", "steg developers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI, STEG_GST_DOC_URI);

  element_class->request_new_pad =
      GST_DEBUG_FUNCPTR (gst_steg_embed_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_steg_embed_release_pad);
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_steg_embed_change_state);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_steg_embed_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_steg_embed_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_steg_embed_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_steg_embed_query);
  trans_class->transform_caps =
      GST_DEBUG_FUNCPTR (gst_steg_embed_transform_caps);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_steg_embed_transform_frame_ip);

  gst_type_mark_as_plugin_api (gst_steg_param_enum_type (STEG_PARAM_DEVICE), 0);
  gst_type_mark_as_plugin_api (gst_steg_param_enum_type (STEG_PARAM_PRECISION),
      0);
  gst_type_mark_as_plugin_api (gst_steg_param_enum_type (STEG_PARAM_FIT), 0);
  gst_type_mark_as_plugin_api (gst_steg_param_enum_type (STEG_PARAM_CHANNEL),
      0);
}

static void
gst_steg_embed_init (GstStegEmbed * self)
{
  gst_steg_settings_init (&self->settings);
  self->fit = steg_param_get (STEG_PARAM_FIT)->default_value;
  self->channel = steg_param_get (STEG_PARAM_CHANNEL)->default_value;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->payload_queue);
  self->next_serial = FITTED_STILL + 1;
  gst_video_info_init (&self->payload_info);
  gst_segment_init (&self->payload_segment, GST_FORMAT_TIME);
  /* Late frames are dropped (QoS) rather than making a live pipeline fall behind. */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), TRUE);
}
