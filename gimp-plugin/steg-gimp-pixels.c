/* SPDX-License-Identifier: MIT */
/* steg-gimp-pixels.c - drawable pixels through libsteg (see steg-gimp-pixels.h). */
#include "steg-gimp-pixels.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (steg-gimp-error-quark, steg_gimp_error)

static const Babl *
u8_format (const Babl * space_of, gboolean alpha, gboolean gray)
{
  const gchar *name = gray ? "Y' u8" : alpha ? "R'G'B'A u8" : "R'G'B' u8";

  return space_of ? babl_format_with_space (name, space_of) : babl_format (name);
}

gboolean
steg_gimp_check_rgb (gboolean is_rgb, gboolean is_gray, GError ** error)
{
  if (is_rgb)
    return TRUE;
  g_set_error (error, STEG_GIMP_ERROR, 0,
      "Steganography works on RGB layers, and this image is %s. Convert it "
      "first with Image > Mode > RGB.", is_gray ? "grayscale" : "indexed");
  return FALSE;
}

struct steg_context *
steg_gimp_open (const StegGimpOptions * options, GError ** error)
{
  struct steg_context_params params = steg_context_default_params ();
  const gchar *model = options->model;
  struct steg_context *ctx;

  if (model == NULL || model[0] == '\0')
    model = steg_default_model_path ();
  if (model == NULL) {
    g_set_error (error, STEG_GIMP_ERROR, 0,
        "No steg model was found. Choose a model file (.safetensors) in the "
        "dialog, or reinstall steg with its default model.");
    return NULL;
  }
  params.device = options->device;
  params.progress = options->progress;
  params.progress_user_data = options->progress_data;
  ctx = steg_init_from_file (model, params);
  if (ctx == NULL)
    g_set_error (error, STEG_GIMP_ERROR, steg_last_status (),
        "Could not load the steg model \"%s\": %s. Choose a valid model file "
        "(.safetensors).", model, steg_last_error ());
  return ctx;
}

gboolean
steg_gimp_read (GeglBuffer * buffer, const Babl * space_of, gboolean alpha,
    gboolean gray, struct steg_image *out, GError ** error)
{
  const GeglRectangle *r = gegl_buffer_get_extent (buffer);
  enum steg_format format = gray ? STEG_FORMAT_GRAY8
      : alpha ? STEG_FORMAT_RGBA8 : STEG_FORMAT_RGB8;

  if (steg_image_alloc (out, r->width, r->height, format) != STEG_OK) {
    g_set_error (error, STEG_GIMP_ERROR, steg_last_status (),
        "Not enough memory for a %dx%d layer: %s", r->width, r->height,
        steg_last_error ());
    return FALSE;
  }
  gegl_buffer_get (buffer, GEGL_RECTANGLE (r->x, r->y, r->width, r->height),
      1.0, u8_format (space_of, alpha, gray), out->data, GEGL_AUTO_ROWSTRIDE,
      GEGL_ABYSS_NONE);
  return TRUE;
}

gboolean
steg_gimp_hide (GeglBuffer * cover_buffer, GeglBuffer * shadow,
    const Babl * space_of, gboolean alpha,
    const struct steg_image *payload_src, const StegGimpOptions * options,
    GError ** error)
{
  struct steg_image cover = { 0 }, payload = { 0 };
  struct steg_context *ctx = NULL;
  const GeglRectangle *r = gegl_buffer_get_extent (cover_buffer);
  gboolean ok = FALSE;
  enum steg_status status;

  if (!steg_gimp_read (cover_buffer, space_of, alpha, FALSE, &cover, error))
    goto done;
  if (steg_payload_prepare (payload_src, cover.width, cover.height,
          options->fit, options->channel, &payload) != STEG_OK) {
    g_set_error (error, STEG_GIMP_ERROR, steg_last_status (),
        "Could not fit the payload to the layer: %s", steg_last_error ());
    goto done;
  }
  if ((ctx = steg_gimp_open (options, error)) == NULL)
    goto done;
  status = steg_hide (ctx, &cover, &payload, &cover);
  if (status != STEG_OK) {
    g_set_error (error, STEG_GIMP_ERROR, status, "%s",
        status == STEG_ERR_CANCELLED ? "Cancelled; the layer is unchanged."
        : steg_last_error ());
    goto done;
  }
  gegl_buffer_set (shadow, GEGL_RECTANGLE (r->x, r->y, r->width, r->height), 0,
      u8_format (space_of, alpha, FALSE), cover.data, GEGL_AUTO_ROWSTRIDE);
  gegl_buffer_flush (shadow);
  ok = TRUE;

done:
  steg_free (ctx);
  steg_image_free (&cover);
  steg_image_free (&payload);
  return ok;
}

gboolean
steg_gimp_reveal (GeglBuffer * hybrid_buffer, const Babl * space_of,
    const StegGimpOptions * options, struct steg_image *out, GError ** error)
{
  struct steg_image hybrid = { 0 };
  struct steg_context *ctx = NULL;
  gboolean ok = FALSE;
  enum steg_status status;

  if (!steg_gimp_read (hybrid_buffer, space_of, FALSE, FALSE, &hybrid, error))
    goto done;
  if ((ctx = steg_gimp_open (options, error)) == NULL)
    goto done;
  if (steg_image_alloc (out, hybrid.width, hybrid.height,
          STEG_FORMAT_GRAY8) != STEG_OK) {
    g_set_error (error, STEG_GIMP_ERROR, steg_last_status (), "%s",
        steg_last_error ());
    goto done;
  }
  status = steg_reveal (ctx, &hybrid, out);
  if (status != STEG_OK) {
    g_set_error (error, STEG_GIMP_ERROR, status, "%s",
        status == STEG_ERR_CANCELLED ? "Cancelled." : steg_last_error ());
    steg_image_free (out);
    goto done;
  }
  ok = TRUE;

done:
  steg_free (ctx);
  steg_image_free (&hybrid);
  return ok;
}

void
steg_gimp_write_gray (GeglBuffer * buffer, const struct steg_image *gray)
{
  gegl_buffer_set (buffer, GEGL_RECTANGLE (0, 0, gray->width, gray->height), 0,
      babl_format ("Y' u8"), gray->data, GEGL_AUTO_ROWSTRIDE);
  gegl_buffer_flush (buffer);
}

gchar *
steg_gimp_revealed_name (const gchar * source_file)
{
  gchar *dir, *base, *dot, *name;

  if (source_file == NULL || source_file[0] == '\0')
    return NULL;
  dir = g_path_get_dirname (source_file);
  base = g_path_get_basename (source_file);
  dot = strrchr (base, '.');
  if (dot && dot != base)
    *dot = '\0';
  name = g_strdup_printf ("%s%c%s-revealed.xcf", dir, G_DIR_SEPARATOR, base);
  g_free (base);
  g_free (dir);
  return name;
}

/* ---- the dialogs' live preview ------------------------------------------------ */

/* Pixels encoded around the preview's area, so that its edges see what the full
 * filter's encoder sees there (its receptive radius is 7). */
#define PREVIEW_MARGIN 16

struct _StegGimpPreview
{
  struct steg_context *ctx;
  gchar *model;                 /* what ctx was opened with */
  enum steg_device device;
  /* The payload chosen in the dialog, read once per choice, and the choice. */
  struct steg_image payload;
  gchar *payload_key;
  /* The payload fitted to the whole layer, kept between redraws (scrolling the view
   * or changing the device must not fit it again), and what it was made from. */
  struct steg_image fitted;
  guint64 fitted_key;
};

StegGimpPreview *
steg_gimp_preview_new (void)
{
  return g_new0 (StegGimpPreview, 1);
}

void
steg_gimp_preview_free (StegGimpPreview * preview)
{
  if (preview == NULL)
    return;
  steg_free (preview->ctx);
  g_free (preview->model);
  steg_image_free (&preview->payload);
  g_free (preview->payload_key);
  steg_image_free (&preview->fitted);
  g_free (preview);
}

const struct steg_image *
steg_gimp_preview_payload (StegGimpPreview * preview, const gchar * key,
    GeglBuffer * layer, const Babl * layer_format, const gchar * path,
    GError ** error)
{
  gboolean ok = TRUE;

  if (key == NULL)
    return NULL;
  if (g_strcmp0 (key, preview->payload_key) != 0) {
    steg_image_free (&preview->payload);
    g_clear_pointer (&preview->payload_key, g_free);
    if (layer != NULL) {
      ok = steg_gimp_read (layer, layer_format, FALSE, FALSE,
          &preview->payload, error);
    } else if (steg_image_load (path, 0, &preview->payload) != STEG_OK) {
      g_set_error (error, STEG_GIMP_ERROR, 0, "Cannot read the payload: %s",
          steg_last_error ());
      ok = FALSE;
    }
    if (ok)
      preview->payload_key = g_strdup (key);
  }
  return ok ? &preview->payload : NULL;
}

/* FNV-1a over the payload's pixels, its size and format, and how it is fitted to a
 * layer of width x height: what decides the fitted payload. */
static guint64
fitted_key (const struct steg_image *src, gint width, gint height,
    enum steg_fit fit, enum steg_channel channel)
{
  const gint64 row = (gint64) src->width * steg_format_channels (src->format);
  const gint64 stride = src->stride ? src->stride : row;
  const gint64 head[] = { src->width, src->height, src->format, width, height,
    fit, channel
  };
  guint64 h = G_GUINT64_CONSTANT (14695981039346656037);
  gint64 y, i;

  for (i = 0; i < (gint64) sizeof head; i++)
    h = (h ^ ((const guint8 *) head)[i]) * G_GUINT64_CONSTANT (1099511628211);
  for (y = 0; y < src->height; y++)
    for (i = 0; i < row; i++)
      h = (h ^ src->data[y * stride + i]) * G_GUINT64_CONSTANT (1099511628211);
  return h;
}

/* `src`'s rectangle (x, y, w, h) as a compact image of its own. */
static gboolean
crop (const struct steg_image *src, gint x, gint y, gint w, gint h,
    struct steg_image *out)
{
  const gint ch = steg_format_channels (src->format);
  const gint64 stride = src->stride ? src->stride : (gint64) src->width * ch;
  gint row;

  if (steg_image_alloc (out, w, h, src->format) != STEG_OK)
    return FALSE;
  for (row = 0; row < h; row++)
    memcpy (out->data + (gint64) row * w * ch,
        src->data + (gint64) (y + row) * stride + (gint64) x * ch,
        (gsize) w * ch);
  return TRUE;
}

/* The hybrid of `area` into `out` (area pixels of 3 or 4 bytes, R'G'B'(A) u8 in the
 * layer's space, as gimp_preview_draw_buffer takes them), and its figures. */
static gboolean
preview_render (StegGimpPreview * preview,
    GeglBuffer * cover_buffer, const Babl * space_of, gboolean alpha,
    const GeglRectangle * area, const struct steg_image *payload_src,
    const StegGimpOptions * options, guchar * out, gdouble * psnr,
    gdouble * delta_e, GError ** error)
{
  const GeglRectangle *layer = gegl_buffer_get_extent (cover_buffer);
  const gchar *model = options->model && options->model[0] ? options->model
      : steg_default_model_path ();
  struct steg_image cover = { 0 }, payload_part = { 0 };
  struct steg_image cover_area = { 0 }, hybrid_area = { 0 };
  GeglRectangle big;
  gboolean ok = FALSE;
  enum steg_status status;
  double mean = 0.0, p99 = 0.0;
  guint64 key;

  /* The area and a margin around it, inside the layer. */
  big.x = MAX (area->x - PREVIEW_MARGIN, layer->x);
  big.y = MAX (area->y - PREVIEW_MARGIN, layer->y);
  big.width = MIN (area->x + area->width + PREVIEW_MARGIN,
      layer->x + layer->width) - big.x;
  big.height = MIN (area->y + area->height + PREVIEW_MARGIN,
      layer->y + layer->height) - big.y;
  if (big.width <= 0 || big.height <= 0 || area->x < layer->x
      || area->y < layer->y || area->x + area->width > layer->x + layer->width
      || area->y + area->height > layer->y + layer->height) {
    g_set_error (error, STEG_GIMP_ERROR, 0, "The preview lies outside the layer.");
    return FALSE;
  }

  if (preview->ctx == NULL || preview->device != options->device
      || g_strcmp0 (preview->model, model) != 0) {
    StegGimpOptions quiet = *options;

    steg_free (preview->ctx);
    g_free (preview->model);
    quiet.progress = NULL;      /* the preview is quick: no progress bar */
    preview->ctx = steg_gimp_open (&quiet, error);
    preview->model = g_strdup (model);
    preview->device = options->device;
    if (preview->ctx == NULL)
      return FALSE;
  }

  /* The payload is fitted to the whole layer (once for each payload and fit), then
   * the same part is cut from it. */
  key = fitted_key (payload_src, layer->width, layer->height, options->fit,
      options->channel);
  if (preview->fitted.data == NULL || preview->fitted_key != key) {
    steg_image_free (&preview->fitted);
    if (steg_payload_prepare (payload_src, layer->width, layer->height,
            options->fit, options->channel, &preview->fitted) != STEG_OK) {
      g_set_error (error, STEG_GIMP_ERROR, steg_last_status (),
          "Could not fit the payload to the layer: %s", steg_last_error ());
      goto done;
    }
    preview->fitted_key = key;
  }
  if (steg_image_alloc (&cover, big.width, big.height,
          alpha ? STEG_FORMAT_RGBA8 : STEG_FORMAT_RGB8) != STEG_OK
      || !crop (&preview->fitted, big.x - layer->x, big.y - layer->y, big.width,
          big.height, &payload_part)) {
    g_set_error (error, STEG_GIMP_ERROR, steg_last_status (), "%s",
        steg_last_error ());
    goto done;
  }
  gegl_buffer_get (cover_buffer, &big, 1.0, u8_format (space_of, alpha, FALSE),
      cover.data, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  if (!crop (&cover, area->x - big.x, area->y - big.y, area->width,
          area->height, &cover_area)) {
    g_set_error (error, STEG_GIMP_ERROR, steg_last_status (), "%s",
        steg_last_error ());
    goto done;
  }
  status = steg_hide (preview->ctx, &cover, &payload_part, &cover);
  if (status != STEG_OK) {
    g_set_error (error, STEG_GIMP_ERROR, status, "%s", steg_last_error ());
    goto done;
  }
  if (!crop (&cover, area->x - big.x, area->y - big.y, area->width,
          area->height, &hybrid_area)) {
    g_set_error (error, STEG_GIMP_ERROR, steg_last_status (), "%s",
        steg_last_error ());
    goto done;
  }
  memcpy (out, hybrid_area.data, (gsize) area->width * area->height
      * (alpha ? 4 : 3));
  *psnr = steg_psnr (&cover_area, &hybrid_area);
  if (steg_colour_difference (&cover_area, &hybrid_area, &mean, &p99) != STEG_OK)
    mean = NAN;
  *delta_e = mean;
  ok = TRUE;

done:
  steg_image_free (&cover);
  steg_image_free (&payload_part);
  steg_image_free (&cover_area);
  steg_image_free (&hybrid_area);
  return ok;
}

void
steg_gimp_preview_show (StegGimpPreview * preview, GimpPreview * widget,
    GtkLabel * label, GeglBuffer * cover_buffer, const Babl * space_of,
    gboolean alpha, const struct steg_image *payload_src,
    const GError * payload_error, const StegGimpOptions * options)
{
  const gint bpp = alpha ? 4 : 3;
  GeglRectangle area;
  GError *error = NULL;
  gdouble psnr, delta_e;
  guchar *hybrid;
  gchar *text;

  if (payload_src == NULL) {
    gimp_preview_draw (widget);         /* the cover as it is */
    gtk_label_set_text (label, payload_error ? payload_error->message :
        "Choose a payload layer or file\nto preview the hybrid.");
    return;
  }
  gimp_preview_get_position (widget, &area.x, &area.y);
  gimp_preview_get_size (widget, &area.width, &area.height);
  hybrid = g_malloc ((gsize) area.width * area.height * bpp);
  if (preview_render (preview, cover_buffer, space_of, alpha, &area,
          payload_src, options, hybrid, &psnr, &delta_e, &error)) {
    gimp_preview_draw_buffer (widget, hybrid, area.width * bpp);
    text = g_strdup_printf ("This view: PSNR %.1f dB, colour difference %.2f\n"
        "(CIEDE2000 mean; people start to notice about 2).", psnr, delta_e);
    gtk_label_set_text (label, text);
    g_free (text);
  } else {
    gimp_preview_draw (widget);
    gtk_label_set_text (label, error->message);
    g_clear_error (&error);
  }
  g_free (hybrid);
}

gchar *
steg_gimp_help_uri (void)
{
  const gchar *dirs[] = { STEG_GIMP_HELP_DIR, STEG_GIMP_HELP_BUILD_DIR };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (dirs); i++) {
    gchar *map = g_build_filename (dirs[i], "en", "gimp-help.xml", NULL);
    gboolean found = g_file_test (map, G_FILE_TEST_IS_REGULAR);

    g_free (map);
    if (found)
      return g_filename_to_uri (dirs[i], NULL, NULL);
  }
  return NULL;
}
