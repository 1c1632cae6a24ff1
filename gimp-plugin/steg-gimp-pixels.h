// SPDX-License-Identifier: MIT
/* steg-gimp-pixels.h - the part of the GIMP filter that does not depend on the GIMP
 * version's plug-in API: drawable pixels in and out through GEGL, and the hide and
 * reveal operations on libsteg, and the Hide dialog's live preview (a GimpPreview,
 * the same widget in both). The GIMP 2.10 front-end (steg-gimp-210.c) and the GIMP 3
 * one (steg-gimp-3.c) call the same functions with their drawables' buffers.
 *
 * Every pixel goes through libsteg as 8-bit R'G'B'(A) in the image's own colour space,
 * so the hybrid's values sit on the 8-bit grid whatever the image's precision: an
 * export to 8-bit PNG loses nothing of the payload.
 */
#ifndef __STEG_GIMP_PIXELS_H__
#define __STEG_GIMP_PIXELS_H__

#include <gegl.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <steg.h>

G_BEGIN_DECLS

#define STEG_GIMP_ERROR (steg_gimp_error_quark ())
GQuark steg_gimp_error_quark (void);

/* What the hide and reveal operations need to know besides the pixels. */
typedef struct
{
  const gchar *model;           /* NULL or "": the installed default model */
  enum steg_device device;
  enum steg_fit fit;
  enum steg_channel channel;
  steg_progress_callback progress;
  gpointer progress_data;
} StegGimpOptions;

/* FALSE, with an error that says how to convert, unless the layer is RGB. */
gboolean steg_gimp_check_rgb (gboolean is_rgb, gboolean is_gray,
    GError ** error);

/* Opens the model, with an error that says what to do. */
struct steg_context *steg_gimp_open (const StegGimpOptions * options,
    GError ** error);

/* Reads a buffer as 8-bit R'G'B' (or R'G'B'A when `alpha`) in `space_of`'s colour
 * space (the drawable's format), or as 8-bit Y' when `gray`. */
gboolean steg_gimp_read (GeglBuffer * buffer, const Babl * space_of,
    gboolean alpha, gboolean gray, struct steg_image *out, GError ** error);

/* Hides `payload_src` (any size and format; fitted by options) in `cover`, read from
 * `cover_buffer`, and writes the hybrid into `shadow` (the drawable's shadow buffer,
 * merged by the caller as one undo step). Alpha is copied unchanged. */
gboolean steg_gimp_hide (GeglBuffer * cover_buffer, GeglBuffer * shadow,
    const Babl * space_of, gboolean alpha,
    const struct steg_image *payload_src, const StegGimpOptions * options,
    GError ** error);

/* Reveals the payload of `hybrid_buffer` into `out` (GRAY8, allocated here). */
gboolean steg_gimp_reveal (GeglBuffer * hybrid_buffer, const Babl * space_of,
    const StegGimpOptions * options, struct steg_image *out, GError ** error);

/* Writes a GRAY8 image into a buffer (any format: GEGL converts). */
void steg_gimp_write_gray (GeglBuffer * buffer, const struct steg_image *gray);

/* A dialog's live preview of the hide: the hybrid of the visible part of the layer,
 * with its PSNR and colour difference against the cover. The model stays open
 * between updates (it is reopened when the model or the device changes). */
typedef struct _StegGimpPreview StegGimpPreview;

StegGimpPreview *steg_gimp_preview_new (void);
void steg_gimp_preview_free (StegGimpPreview * preview);

/* The payload a dialog has chosen, read once per choice and kept until the choice
 * changes: `key` names the choice (a layer's id or a file's path; NULL: none is chosen,
 * and NULL is returned with no error). On a new key the payload is read from `layer`
 * (in `layer_format`'s space) when it is not NULL, else from the file `path`. NULL
 * with `error` set when it cannot be read. */
const struct steg_image *steg_gimp_preview_payload (StegGimpPreview * preview,
    const gchar * key, GeglBuffer * layer, const Babl * layer_format,
    const gchar * path, GError ** error);

/* Draws into `widget` (a drawable preview of the cover layer, whose pixels
 * `cover_buffer` holds) the hybrid of its visible area, with `payload_src` fitted to
 * the whole layer as the filter fits it, and writes that area's PSNR and mean
 * CIEDE2000 against the cover into `label`. A margin around the area, wider than the
 * encoder's reach (7 pixels), is encoded too, so the area's pixels are the full
 * filter's (the selection is not applied; the filter merges through it). With no
 * payload (NULL) or on a failure, the cover as it is, and the reason in `label`
 * (`payload_error`, or a hint to choose a payload). */
void steg_gimp_preview_show (StegGimpPreview * preview, GimpPreview * widget,
    GtkLabel * label, GeglBuffer * cover_buffer, const Babl * space_of,
    gboolean alpha, const struct steg_image *payload_src,
    const GError * payload_error, const StegGimpOptions * options);

/* What the Hide dialogs say about saving the result. */
#define STEG_GIMP_LOSSLESS_NOTE "Export the result as PNG, or as WebP with Lossless " \
    "ticked:\nJPEG and other lossy formats destroy the payload, except\n" \
    "with the robust model (it comes back blurred)."

/* The folder URI of the filter's GIMP help domain (its en/gimp-help.xml maps the
 * procedures to docs/gimp.md as HTML): the installed one, else the build tree's; NULL
 * when neither exists. Free with g_free. */
gchar *steg_gimp_help_uri (void);

#define STEG_GIMP_HELP_DOMAIN "steg-gimp-help"

/* The file name of an image revealed from `source_file`: the source's folder and name
 * with "-revealed.xcf" for its extension, so kodim23.png gives kodim23-revealed.xcf.
 * NULL for an untitled source (NULL or ""), whose revealed image stays untitled too.
 * Free with g_free. */
gchar *steg_gimp_revealed_name (const gchar * source_file);

G_END_DECLS

#endif /* __STEG_GIMP_PIXELS_H__ */
