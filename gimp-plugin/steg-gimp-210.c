/* SPDX-License-Identifier: MIT */
/* steg-gimp-210.c - the GIMP 2.10 front-end of the steg filter: two PDB procedures,
 * their dialogs and remembered values. The pixel work is in steg-gimp-pixels.c.
 *
 *   plug-in-steg-hide    Filters > Steganography > Hide Layer in Image...
 *   plug-in-steg-reveal  Filters > Steganography > Reveal Hidden Image...
 *
 * From Script-Fu or gimp-console batch mode (every option is an argument):
 *   (plug-in-steg-hide RUN-NONINTERACTIVE image cover-layer payload-layer "" "" 0 0 0)
 *   (plug-in-steg-hide RUN-NONINTERACTIVE image cover-layer -1 "secret.png" "" 0 0 0)
 *   (plug-in-steg-reveal RUN-NONINTERACTIVE image hybrid-layer "" 0 0)  ; -> new image
 */
#include "steg-gimp-pixels.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <string.h>

#define HIDE_PROC     "plug-in-steg-hide"
#define REVEAL_PROC   "plug-in-steg-reveal"
#define PLUG_IN_BINARY "steg-gimp"
#define PLUG_IN_ROLE  "steg-gimp"
#define MENU_PATH     "<Image>/Filters/Steganography"
#define PATH_MAX_LEN  4096

typedef struct
{
  gint32 payload_layer;         /* -1: hide payload_file instead */
  gchar payload_file[PATH_MAX_LEN];
  gchar model[PATH_MAX_LEN];    /* "": the installed default model */
  gint32 channel;
  gint32 fit;
  gint32 device;
} HideVals;

typedef struct
{
  gchar model[PATH_MAX_LEN];
  gint32 device;
  gint32 as_layer;              /* 0: a new image, 1: a new layer on top */
} RevealVals;

static void query (void);
static void run (const gchar * name, gint nparams, const GimpParam * param,
    gint * nreturn_vals, GimpParam ** return_vals);

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

MAIN ()

/* All three run modes work: RUN-WITH-LAST-VALS runs with the dialog's last values
 * (the defaults before the first use) and shows no dialog. */
#define RUN_MODE_HELP "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), " \
    "RUN-WITH-LAST-VALS (2) }"

/* The help texts of the shared options come from libsteg's parameter table. */
static const gchar *
param_help (enum steg_param p)
{
  return steg_param_get (p)->help;
}

static void
query (void)
{
  gchar *help_uri;
  GimpParamDef hide_args[] = {
    {GIMP_PDB_INT32, "run-mode", RUN_MODE_HELP},
    {GIMP_PDB_IMAGE, "image", "Input image"},
    {GIMP_PDB_DRAWABLE, "drawable", "The cover layer (RGB or RGBA); its pixels are replaced by the hybrid"},
    {GIMP_PDB_DRAWABLE, "payload-drawable", "A layer of the same image to hide, or -1 to hide payload-file"},
    {GIMP_PDB_STRING, "payload-file", "An image file (PNG, JPEG or WebP) to hide when payload-drawable is -1"},
    {GIMP_PDB_STRING, "model", NULL},
    {GIMP_PDB_INT32, "channel", NULL},
    {GIMP_PDB_INT32, "fit", NULL},
    {GIMP_PDB_INT32, "device", NULL},
  };
  GimpParamDef reveal_args[] = {
    {GIMP_PDB_INT32, "run-mode", RUN_MODE_HELP},
    {GIMP_PDB_IMAGE, "image", "Input image"},
    {GIMP_PDB_DRAWABLE, "drawable", "The hybrid layer (RGB or RGBA)"},
    {GIMP_PDB_STRING, "model", NULL},
    {GIMP_PDB_INT32, "device", NULL},
    {GIMP_PDB_INT32, "as-layer", "0: open the payload as a new grayscale image; 1: add it as a new layer on top"},
  };
  GimpParamDef reveal_return[] = {
    {GIMP_PDB_IMAGE, "new-image", "The new image (-1 when as-layer is 1)"},
    {GIMP_PDB_LAYER, "new-layer", "The layer holding the revealed payload"},
  };

  hide_args[5].description = (gchar *) param_help (STEG_PARAM_MODEL);
  hide_args[6].description = (gchar *) "0 luma (BT.601), 1 red, 2 green, 3 blue: what a colour payload becomes";
  hide_args[7].description = (gchar *) "0 scale (stretch), 1 letterbox (keep aspect, black bars)";
  hide_args[8].description = (gchar *) "0 auto (CUDA if present), 1 CPU, 2 CUDA";
  reveal_args[3].description = (gchar *) param_help (STEG_PARAM_MODEL);
  reveal_args[4].description = hide_args[8].description;

  /* The dialogs' Help button opens docs/gimp.md, installed as HTML. */
  if ((help_uri = steg_gimp_help_uri ()) != NULL)
    gimp_plugin_help_register (STEG_GIMP_HELP_DOMAIN, help_uri);
  g_free (help_uri);

  gimp_install_procedure (HIDE_PROC,
      "Hide a gray image in this layer with a trained CNN (8 bits per pixel)",
      "Hides another layer of the image, or an image file, in the active layer "
      "with steg's CNN encoder (Rehman et al. 2017). The payload becomes one gray "
      "channel fitted to the layer; the layer looks almost unchanged. Save the "
      "result as PNG (lossless): JPEG costs the payload 2-4 dB at best. Reveal it with "
      "Filters > Steganography > Reveal Hidden Image or the steg command.",
      "steg developers", "the steg authors, MIT licence", "2026",
      "_Hide Layer in Image...", "RGB*", GIMP_PLUGIN,
      G_N_ELEMENTS (hide_args), 0, hide_args, NULL);
  gimp_plugin_menu_register (HIDE_PROC, MENU_PATH);

  gimp_install_procedure (REVEAL_PROC,
      "Recover the image hidden in this layer",
      "Runs steg's CNN decoder on the active layer and opens the hidden image as "
      "a new grayscale image (or adds it as a new layer).",
      "steg developers", "the steg authors, MIT licence", "2026",
      "_Reveal Hidden Image...", "RGB*", GIMP_PLUGIN,
      G_N_ELEMENTS (reveal_args), G_N_ELEMENTS (reveal_return), reveal_args,
      reveal_return);
  gimp_plugin_menu_register (REVEAL_PROC, MENU_PATH);
}

/* ---- dialogs ------------------------------------------------------------------ */

static GtkWidget *
enum_combo (enum steg_param p, gint32 * value)
{
  const struct steg_param_spec *spec = steg_param_get (p);
  const gchar *labels[8];
  gint n = 0;
  GtkWidget *combo;

  while (spec->choices[n] && n < 8) {
    labels[n] = spec->choices[n];
    n++;
  }
  combo = gimp_int_combo_box_new_array (n, labels);
  gimp_int_combo_box_connect (GIMP_INT_COMBO_BOX (combo), *value,
      G_CALLBACK (gimp_int_combo_box_get_active), value);
  gimp_help_set_help_data (combo, spec->help, NULL);
  return combo;
}

static GtkWidget *
file_button (const gchar * title, const gchar * current)
{
  GtkWidget *button = gtk_file_chooser_button_new (title,
      GTK_FILE_CHOOSER_ACTION_OPEN);
  if (current && current[0])
    gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (button), current);
  return button;
}

static void
take_filename (GtkWidget * button, gchar * dest)
{
  gchar *f = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (button));
  if (f)
    g_strlcpy (dest, f, PATH_MAX_LEN);
  g_free (f);
}

static GtkWidget *
new_dialog (const gchar * title, const gchar * help_id, GtkWidget ** table,
    gint rows, GtkWidget ** vbox_out)
{
  GtkWidget *dialog, *vbox;

  gimp_ui_init (PLUG_IN_BINARY, FALSE);
  dialog = gimp_dialog_new (title, PLUG_IN_ROLE, NULL, 0,
      gimp_standard_help_func, help_id,
      "_Cancel", GTK_RESPONSE_CANCEL, "_OK", GTK_RESPONSE_OK, NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (dialog),
      GTK_RESPONSE_OK, GTK_RESPONSE_CANCEL, -1);
  gimp_window_set_transient (GTK_WINDOW (dialog));

  vbox = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG
              (dialog))), vbox, TRUE, TRUE, 0);
  *table = gtk_table_new (rows, 2, FALSE);
  gtk_table_set_col_spacings (GTK_TABLE (*table), 6);
  gtk_table_set_row_spacings (GTK_TABLE (*table), 6);
  gtk_box_pack_start (GTK_BOX (vbox), *table, FALSE, FALSE, 0);
  if (vbox_out)
    *vbox_out = vbox;
  return dialog;
}

/* Left-aligned text (lines broken by the caller) in the dialog's box. */
static GtkWidget *
note_label (GtkWidget * vbox, const gchar * text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_misc_set_alignment (GTK_MISC (label), 0.0, 0.5);
  gtk_box_pack_start (GTK_BOX (vbox), label, FALSE, FALSE, 0);
  return label;
}

/* What the payload layer chooser offers: the other layers of the cover's image. */
typedef struct
{
  gint32 image;
  gint32 cover;
} PayloadChoice;

static gboolean
payload_layer_constraint (gint32 image, gint32 item, gpointer data)
{
  const PayloadChoice *choice = data;

  return image == choice->image && item != choice->cover;
}

/* The layer hidden when none is named: the topmost layer of the image other than the
 * cover (-1: there is none). */
static gint32
default_payload_layer (gint32 image, gint32 cover)
{
  gint n = 0, i;
  gint32 *layers = gimp_image_get_layers (image, &n), found = -1;

  for (i = 0; i < n && found == -1; i++)
    if (layers[i] != cover)
      found = layers[i];
  g_free (layers);
  return found;
}

/* The Hide dialog's live preview: the hybrid of the visible part of the cover. */
typedef struct
{
  gint32 drawable;
  HideVals *vals;
  GtkWidget *preview, *label, *file, *model;
  StegGimpPreview *steg;
} HidePreview;

/* The payload chosen in the dialog right now (read once per choice); NULL with no
 * error when none is chosen. */
static const struct steg_image *
preview_payload (HidePreview * p, GError ** error)
{
  const gint32 layer = p->vals->payload_layer;
  GeglBuffer *buffer = layer != -1 ? gimp_drawable_get_buffer (layer) : NULL;
  gchar *file = layer != -1 ? NULL
      : gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (p->file));
  gchar *key = layer != -1 ? g_strdup_printf ("layer %d", layer)
      : file ? g_strdup_printf ("file %s", file) : NULL;
  const struct steg_image *payload = steg_gimp_preview_payload (p->steg, key,
      buffer, buffer ? gimp_drawable_get_format (layer) : NULL, file, error);

  if (buffer)
    g_object_unref (buffer);
  g_free (key);
  g_free (file);
  return payload;
}

static void
update_preview (HidePreview * p)
{
  gchar *model = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (p->model));
  StegGimpOptions opts = { model, p->vals->device, p->vals->fit,
    p->vals->channel, NULL, NULL
  };
  GeglBuffer *buffer = gimp_drawable_get_buffer (p->drawable);
  GError *error = NULL;
  const struct steg_image *payload = preview_payload (p, &error);

  steg_gimp_preview_show (p->steg, GIMP_PREVIEW (p->preview),
      GTK_LABEL (p->label), buffer, gimp_drawable_get_format (p->drawable),
      gimp_drawable_has_alpha (p->drawable), payload, error, &opts);
  g_clear_error (&error);
  g_object_unref (buffer);
  g_free (model);
}

static gboolean
hide_dialog (gint32 image, gint32 drawable, HideVals * vals)
{
  GtkWidget *dialog, *table, *vbox, *layer, *file, *model, *channel, *fit;
  GtkWidget *device;
  const gchar *def = steg_default_model_path ();
  PayloadChoice choice = { image, drawable };
  HidePreview preview = { drawable, vals };
  gboolean ok;

  dialog = new_dialog ("Hide Layer in Image", HIDE_PROC, &table, 6, &vbox);
  /* The documented workflow: the payload is another layer of this image. Last time's
   * choice stands only if it is still such a layer. */
  if (vals->payload_layer == -1 || !gimp_item_is_valid (vals->payload_layer)
      || gimp_item_get_image (vals->payload_layer) != image
      || vals->payload_layer == drawable)
    vals->payload_layer = default_payload_layer (image, drawable);

  layer = gimp_layer_combo_box_new (payload_layer_constraint, &choice);
  gimp_int_combo_box_prepend (GIMP_INT_COMBO_BOX (layer),
      GIMP_INT_STORE_VALUE, -1, GIMP_INT_STORE_LABEL,
      "(the image file below)", -1);
  gimp_int_combo_box_connect (GIMP_INT_COMBO_BOX (layer),
      vals->payload_layer, G_CALLBACK (gimp_int_combo_box_get_active),
      &vals->payload_layer);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 0, "Payload _layer:", 0.0,
      0.5, layer, 1, FALSE);

  file = file_button ("Payload image file", vals->payload_file);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 1, "Or payload _file:", 0.0,
      0.5, file, 1, FALSE);
  channel = enum_combo (STEG_PARAM_CHANNEL, &vals->channel);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 2, "_Channel:", 0.0, 0.5,
      channel, 1, FALSE);
  fit = enum_combo (STEG_PARAM_FIT, &vals->fit);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 3, "_Fit:", 0.0, 0.5,
      fit, 1, FALSE);

  model = file_button ("Steg model (.safetensors)",
      vals->model[0] ? vals->model : def);
  gimp_help_set_help_data (model, param_help (STEG_PARAM_MODEL), NULL);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 4, "_Model:", 0.0, 0.5,
      model, 1, FALSE);
  device = enum_combo (STEG_PARAM_DEVICE, &vals->device);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 5, "_Device:", 0.0, 0.5,
      device, 1, FALSE);
  note_label (vbox, STEG_GIMP_LOSSLESS_NOTE);

  /* The live preview, above the options as in GIMP's own filters. */
  preview.preview = gimp_drawable_preview_new_from_drawable_id (drawable);
  gtk_box_pack_start (GTK_BOX (vbox), preview.preview, TRUE, TRUE, 0);
  gtk_box_reorder_child (GTK_BOX (vbox), preview.preview, 0);
  preview.label = note_label (vbox, "");
  gtk_box_reorder_child (GTK_BOX (vbox), preview.label, 1);
  preview.file = file;
  preview.model = model;
  preview.steg = steg_gimp_preview_new ();
  g_signal_connect_swapped (preview.preview, "invalidated",
      G_CALLBACK (update_preview), &preview);
  {                             /* every option the hybrid depends on */
    GtkWidget *combos[] = { layer, channel, fit, device };
    GtkWidget *files[] = { file, model };
    gsize i;

    for (i = 0; i < G_N_ELEMENTS (combos); i++)
      g_signal_connect_swapped (combos[i], "changed",
          G_CALLBACK (gimp_preview_invalidate), preview.preview);
    for (i = 0; i < G_N_ELEMENTS (files); i++)
      g_signal_connect_swapped (files[i], "file-set",
          G_CALLBACK (gimp_preview_invalidate), preview.preview);
  }

  gtk_widget_show_all (dialog);
  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  if (ok) {
    take_filename (file, vals->payload_file);
    take_filename (model, vals->model);
    if (def && strcmp (vals->model, def) == 0)
      vals->model[0] = '\0';    /* keep following the installed default */
  }
  gtk_widget_destroy (dialog);
  steg_gimp_preview_free (preview.steg);
  return ok;
}

static gboolean
reveal_dialog (RevealVals * vals)
{
  GtkWidget *dialog, *table, *model, *output;
  const gchar *def = steg_default_model_path ();
  gboolean ok;

  dialog = new_dialog ("Reveal Hidden Image", REVEAL_PROC, &table, 3, NULL);
  model = file_button ("Steg model (.safetensors)",
      vals->model[0] ? vals->model : def);
  gimp_help_set_help_data (model, param_help (STEG_PARAM_MODEL), NULL);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 0, "_Model:", 0.0, 0.5,
      model, 1, FALSE);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 1, "_Device:", 0.0, 0.5,
      enum_combo (STEG_PARAM_DEVICE, &vals->device), 1, FALSE);
  output = gimp_int_combo_box_new ("New image", 0, "New layer", 1, NULL);
  gimp_int_combo_box_connect (GIMP_INT_COMBO_BOX (output), vals->as_layer,
      G_CALLBACK (gimp_int_combo_box_get_active), &vals->as_layer);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 2, "_Open as:", 0.0, 0.5,
      output, 1, FALSE);

  gtk_widget_show_all (dialog);
  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  if (ok) {
    take_filename (model, vals->model);
    if (def && strcmp (vals->model, def) == 0)
      vals->model[0] = '\0';
  }
  gtk_widget_destroy (dialog);
  return ok;
}

/* ---- the procedures -------------------------------------------------------------- */

static bool
progress_cb (float fraction, void *data)
{
  gimp_progress_update (fraction);
  return true;                  /* GIMP cancels a plug-in by ending it */
}

static gboolean
check_rgb (gint32 drawable, const gchar * what, GError ** error)
{
  if (!gimp_item_is_valid (drawable) || !gimp_item_is_drawable (drawable)) {
    g_set_error (error, STEG_GIMP_ERROR, 0, "The %s is not a valid layer.",
        what);
    return FALSE;
  }
  return steg_gimp_check_rgb (gimp_drawable_is_rgb (drawable),
      gimp_drawable_is_gray (drawable), error);
}

static gboolean
do_hide (gint32 image, gint32 drawable, const HideVals * vals,
    GError ** error)
{
  struct steg_image payload = { 0 };
  StegGimpOptions opts = { vals->model, vals->device, vals->fit, vals->channel,
    progress_cb, NULL
  };
  GeglBuffer *buffer, *shadow;
  gboolean ok;

  gint32 payload_layer = vals->payload_layer;

  if (!check_rgb (drawable, "cover layer", error))
    return FALSE;
  if (payload_layer == -1 && vals->payload_file[0] == '\0') {
    payload_layer = default_payload_layer (image, drawable);
    if (payload_layer == -1) {
      g_set_error (error, STEG_GIMP_ERROR, 0,
          "Nothing to hide: this image has no other layer. Open the payload as "
          "a layer (File > Open as Layers...) or choose a payload image file.");
      return FALSE;
    }
  }
  if (payload_layer != -1) {
    if (!gimp_item_is_valid (payload_layer)
        || !gimp_item_is_drawable (payload_layer)) {
      g_set_error (error, STEG_GIMP_ERROR, 0,
          "The payload layer (%d) does not exist.", payload_layer);
      return FALSE;
    }
    if (gimp_item_get_image (payload_layer) != image) {
      g_set_error (error, STEG_GIMP_ERROR, 0,
          "The payload layer belongs to another image. Copy it into this "
          "image as a layer, or hide it from its file instead.");
      return FALSE;
    }
    buffer = gimp_drawable_get_buffer (payload_layer);
    ok = steg_gimp_read (buffer, gimp_drawable_get_format
        (payload_layer), FALSE, FALSE, &payload, error);
    g_object_unref (buffer);
    if (!ok)
      return FALSE;
  } else if (steg_image_load (vals->payload_file, 0, &payload) != STEG_OK) {
    g_set_error (error, STEG_GIMP_ERROR, 0,
        "Could not read the payload image \"%s\": %s. Choose a payload layer "
        "or a PNG, JPEG or WebP file.", vals->payload_file, steg_last_error ());
    return FALSE;
  }

  gimp_progress_init ("Hiding the payload");
  buffer = gimp_drawable_get_buffer (drawable);
  shadow = gimp_drawable_get_shadow_buffer (drawable);
  ok = steg_gimp_hide (buffer, shadow, gimp_drawable_get_format (drawable),
      gimp_drawable_has_alpha (drawable), &payload, &opts, error);
  g_object_unref (shadow);
  g_object_unref (buffer);
  steg_image_free (&payload);
  if (ok) {
    /* One undo step: GIMP keeps the old pixels when the shadow is merged. */
    gimp_drawable_merge_shadow (drawable, TRUE);
    gimp_drawable_update (drawable, 0, 0, gimp_drawable_width (drawable),
        gimp_drawable_height (drawable));
  }
  gimp_progress_end ();
  return ok;
}

/* Names the revealed image after its source: kodim23.png gives kodim23-revealed.xcf
 * beside it (an untitled source leaves it untitled). */
static void
name_revealed (gint32 source, gint32 revealed)
{
  gchar *file = gimp_image_get_filename (source);
  gchar *name = steg_gimp_revealed_name (file);

  if (name)
    gimp_image_set_filename (revealed, name);
  g_free (name);
  g_free (file);
}

static gboolean
do_reveal (gint32 image, gint32 drawable, const RevealVals * vals,
    gint32 * new_image, gint32 * new_layer, GError ** error)
{
  struct steg_image gray = { 0 };
  StegGimpOptions opts = { vals->model, vals->device, STEG_FIT_SCALE,
    STEG_CHANNEL_LUMA, progress_cb, NULL
  };
  GeglBuffer *buffer;
  gboolean ok;
  gint x, y;

  *new_image = *new_layer = -1;
  if (!check_rgb (drawable, "hybrid layer", error))
    return FALSE;
  gimp_progress_init ("Revealing the hidden image");
  buffer = gimp_drawable_get_buffer (drawable);
  ok = steg_gimp_reveal (buffer, gimp_drawable_get_format (drawable), &opts,
      &gray, error);
  g_object_unref (buffer);
  gimp_progress_end ();
  if (!ok)
    return FALSE;

  if (vals->as_layer) {
    gimp_image_undo_group_start (image);
    *new_layer = gimp_layer_new (image, "Revealed payload", gray.width,
        gray.height, gimp_drawable_has_alpha (drawable) ? GIMP_RGBA_IMAGE :
        GIMP_RGB_IMAGE, 100, GIMP_LAYER_MODE_NORMAL);
    gimp_image_insert_layer (image, *new_layer, -1, 0);
    gimp_drawable_offsets (drawable, &x, &y);
    gimp_layer_set_offsets (*new_layer, x, y);
  } else {
    *new_image = gimp_image_new (gray.width, gray.height, GIMP_GRAY);
    gimp_image_undo_disable (*new_image);
    name_revealed (image, *new_image);
    *new_layer = gimp_layer_new (*new_image, "Revealed payload", gray.width,
        gray.height, GIMP_GRAY_IMAGE, 100, GIMP_LAYER_MODE_NORMAL);
    gimp_image_insert_layer (*new_image, *new_layer, -1, 0);
  }
  buffer = gimp_drawable_get_buffer (*new_layer);
  steg_gimp_write_gray (buffer, &gray);
  g_object_unref (buffer);
  gimp_drawable_update (*new_layer, 0, 0, gray.width, gray.height);
  if (vals->as_layer)
    gimp_image_undo_group_end (image);
  else
    gimp_image_undo_enable (*new_image);
  steg_image_free (&gray);
  return TRUE;
}

static void
run (const gchar * name, gint nparams, const GimpParam * param,
    gint * nreturn_vals, GimpParam ** return_vals)
{
  static GimpParam values[3];
  static gchar *message = NULL;
  GimpRunMode run_mode = param[0].data.d_int32;
  gint32 image = param[1].data.d_image;
  gint32 drawable = param[2].data.d_drawable;
  GimpPDBStatusType status = GIMP_PDB_SUCCESS;
  GError *error = NULL;

  gegl_init (NULL, NULL);
  *return_vals = values;
  *nreturn_vals = 1;
  values[0].type = GIMP_PDB_STATUS;

  if (strcmp (name, HIDE_PROC) == 0) {
    HideVals vals = { -1, "", "", STEG_CHANNEL_LUMA, STEG_FIT_SCALE,
      STEG_DEVICE_AUTO
    };
    gimp_get_data (HIDE_PROC, &vals);
    if (run_mode == GIMP_RUN_NONINTERACTIVE) {
      if (nparams != 9) {
        status = GIMP_PDB_CALLING_ERROR;
        goto out;
      }
      vals.payload_layer = param[3].data.d_drawable;
      g_strlcpy (vals.payload_file, param[4].data.d_string ?
          param[4].data.d_string : "", PATH_MAX_LEN);
      g_strlcpy (vals.model, param[5].data.d_string ? param[5].data.d_string :
          "", PATH_MAX_LEN);
      vals.channel = CLAMP (param[6].data.d_int32, 0, 3);
      vals.fit = CLAMP (param[7].data.d_int32, 0, 1);
      vals.device = CLAMP (param[8].data.d_int32, 0, 2);
    } else if (run_mode == GIMP_RUN_INTERACTIVE
        && !hide_dialog (image, drawable, &vals)) {
      status = GIMP_PDB_CANCEL;
      goto out;
    } else if (run_mode == GIMP_RUN_WITH_LAST_VALS && vals.payload_layer != -1
        && (!gimp_item_is_valid (vals.payload_layer)
            || gimp_item_get_image (vals.payload_layer) != image
            || vals.payload_layer == drawable)) {
      /* Last time's layer belongs to another image: this image's other layer,
       * else last time's file. */
      vals.payload_layer = default_payload_layer (image, drawable);
    }
    if (!do_hide (image, drawable, &vals, &error))
      goto failed;
    gimp_set_data (HIDE_PROC, &vals, sizeof vals);
  } else if (strcmp (name, REVEAL_PROC) == 0) {
    RevealVals vals = { "", STEG_DEVICE_AUTO, 0 };
    gint32 new_image, new_layer;
    gimp_get_data (REVEAL_PROC, &vals);
    if (run_mode == GIMP_RUN_NONINTERACTIVE) {
      if (nparams != 6) {
        status = GIMP_PDB_CALLING_ERROR;
        goto out;
      }
      g_strlcpy (vals.model, param[3].data.d_string ? param[3].data.d_string :
          "", PATH_MAX_LEN);
      vals.device = CLAMP (param[4].data.d_int32, 0, 2);
      vals.as_layer = param[5].data.d_int32 != 0;
    } else if (run_mode == GIMP_RUN_INTERACTIVE && !reveal_dialog (&vals)) {
      status = GIMP_PDB_CANCEL;
      goto out;
    }
    if (!do_reveal (image, drawable, &vals, &new_image, &new_layer, &error))
      goto failed;
    gimp_set_data (REVEAL_PROC, &vals, sizeof vals);
    if (run_mode != GIMP_RUN_NONINTERACTIVE && new_image != -1)
      gimp_display_new (new_image);
    *nreturn_vals = 3;
    values[1].type = GIMP_PDB_IMAGE;
    values[1].data.d_image = new_image;
    values[2].type = GIMP_PDB_LAYER;
    values[2].data.d_layer = new_layer;
  } else {
    status = GIMP_PDB_CALLING_ERROR;
  }
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  goto out;

failed:
  /* The reason travels back as the PDB error message (shown by GIMP, or by
   * Script-Fu as "Procedure execution of ... failed: <reason>"). */
  status = GIMP_PDB_EXECUTION_ERROR;
  g_free (message);
  message = g_strdup (error->message);
  g_clear_error (&error);
  *nreturn_vals = 2;
  values[1].type = GIMP_PDB_STRING;
  values[1].data.d_string = message;

out:
  values[0].data.d_status = status;
}
