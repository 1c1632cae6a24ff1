/* SPDX-License-Identifier: MIT */
/* steg-gimp-3.c - the GIMP 3 front-end of the steg filter: a GimpPlugIn with two image
 * procedures whose typed arguments also build their dialogs and remember last values.
 * Same procedures, options and behaviour as the GIMP 2.10 front-end; the pixel work
 * is in steg-gimp-pixels.c.
 *
 *   plug-in-steg-hide    Filters > Steganography > Hide Layer in Image...
 *   plug-in-steg-reveal  Filters > Steganography > Reveal Hidden Image...
 */
#include "steg-gimp-pixels.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <string.h>

#define HIDE_PROC      "plug-in-steg-hide"
#define REVEAL_PROC    "plug-in-steg-reveal"
#define PLUG_IN_BINARY "steg-gimp"
#define MENU_PATH      "<Image>/Filters/Steganography"

#define STEG_TYPE_GIMP (steg_gimp_get_type ())
G_DECLARE_FINAL_TYPE (StegGimp, steg_gimp, STEG, GIMP, GimpPlugIn)

struct _StegGimp
{
  GimpPlugIn parent_instance;
};

G_DEFINE_TYPE (StegGimp, steg_gimp, GIMP_TYPE_PLUG_IN)

GIMP_MAIN (STEG_TYPE_GIMP)

/* A GimpChoice made from one of libsteg's enum parameters: ids are the C enum values. */
static GimpChoice *
choice_of (enum steg_param p)
{
  const struct steg_param_spec *spec = steg_param_get (p);
  GimpChoice *choice = gimp_choice_new ();
  gint i;

  for (i = 0; spec->choices[i]; i++)
    gimp_choice_add (choice, spec->choices[i], i, spec->choices[i], spec->choice_help[i]);
  return choice;
}

static void
add_choice (GimpProcedure * procedure, enum steg_param p, const gchar * name,
    const gchar * nick)
{
  const struct steg_param_spec *spec = steg_param_get (p);

  gimp_procedure_add_choice_argument (procedure, name, nick, spec->help,
      choice_of (p), spec->choices[spec->default_value], G_PARAM_READWRITE);
}

static void
add_model (GimpProcedure * procedure)
{
  gimp_procedure_add_file_argument (procedure, "model", "_Model",
      steg_param_get (STEG_PARAM_MODEL)->help, GIMP_FILE_CHOOSER_ACTION_OPEN,
      TRUE, NULL, G_PARAM_READWRITE);
  add_choice (procedure, STEG_PARAM_DEVICE, "device", "_Device");
}

static bool
progress_cb (float fraction, void *data)
{
  gimp_progress_update (fraction);
  return true;                  /* GIMP cancels a plug-in by ending it */
}

/* The model path of the config ("" for the default); free with g_free. */
static gchar *
config_model (GimpProcedureConfig * config)
{
  GFile *file = NULL;
  gchar *path;

  g_object_get (config, "model", &file, NULL);
  path = file ? g_file_get_path (file) : NULL;
  g_clear_object (&file);
  return path ? path : g_strdup ("");
}

static gboolean
check_rgb (GimpDrawable * drawable, const gchar * what, GError ** error)
{
  if (drawable == NULL) {
    g_set_error (error, STEG_GIMP_ERROR, 0, "Select one %s first.", what);
    return FALSE;
  }
  return steg_gimp_check_rgb (gimp_drawable_is_rgb (drawable),
      gimp_drawable_is_gray (drawable), error);
}

static GimpDrawable *
single_drawable (GimpDrawable ** drawables)
{
  return drawables && drawables[0] && !drawables[1] ? drawables[0] : NULL;
}

static gboolean
run_dialog (GimpProcedure * procedure, GimpProcedureConfig * config,
    const gchar * title)
{
  GtkWidget *dialog;
  gboolean ok;

  gimp_ui_init (PLUG_IN_BINARY);
  dialog = gimp_procedure_dialog_new (procedure, config, title);
  gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog), NULL);
  ok = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  gtk_widget_destroy (dialog);
  return ok;
}

/* TRUE for a payload-file argument that names no file: none at all, or what Script-Fu
 * makes of "" (an empty name, or the current folder). */
static gboolean
names_no_file (GFile * file)
{
  gchar *uri, *path;
  gboolean none;

  if (file == NULL)
    return TRUE;
  uri = g_file_get_uri (file);
  path = g_file_get_path (file);
  none = uri == NULL || uri[0] == '\0' || (path != NULL && (path[0] == '\0'
          || g_file_test (path, G_FILE_TEST_IS_DIR)));
  g_free (path);
  g_free (uri);
  return none;
}

/* The layer hidden when none is named: the topmost layer of the image other than the
 * cover (NULL: there is none). */
static GimpDrawable *
default_payload_layer (GimpImage * image, GimpDrawable * cover)
{
  GimpLayer **layers = gimp_image_get_layers (image);
  GimpDrawable *found = NULL;
  gint i;

  for (i = 0; layers && layers[i] && !found; i++)
    if (GIMP_DRAWABLE (layers[i]) != cover)
      found = GIMP_DRAWABLE (layers[i]);
  g_free (layers);
  return found;
}

/* The Hide dialog's live preview: the hybrid of the visible part of the cover. */
typedef struct
{
  GimpDrawable *cover;
  GimpProcedureConfig *config;
  GtkWidget *preview, *label;
  StegGimpPreview *steg;
} HidePreview;

/* The payload chosen in the dialog right now (read once per choice); NULL with no
 * error when none is chosen. */
static const struct steg_image *
preview_payload (HidePreview * p, GError ** error)
{
  GimpDrawable *layer = NULL;
  GFile *file = NULL;
  GeglBuffer *buffer = NULL;
  gchar *key = NULL, *path = NULL;
  const struct steg_image *payload;

  g_object_get (p->config, "payload-drawable", &layer, "payload-file", &file,
      NULL);
  if (layer) {
    key = g_strdup_printf ("layer %d", gimp_item_get_id (GIMP_ITEM (layer)));
    buffer = gimp_drawable_get_buffer (layer);
  } else if (!names_no_file (file) && (path = g_file_get_path (file)) != NULL) {
    key = g_strdup_printf ("file %s", path);
  }
  payload = steg_gimp_preview_payload (p->steg, key, buffer,
      layer ? gimp_drawable_get_format (layer) : NULL, path, error);
  g_clear_object (&buffer);
  g_clear_object (&layer);
  g_clear_object (&file);
  g_free (path);
  g_free (key);
  return payload;
}

static void
update_preview (HidePreview * p)
{
  gchar *model = config_model (p->config);
  StegGimpOptions opts = { 0 };
  GeglBuffer *buffer = gimp_drawable_get_buffer (p->cover);
  GError *error = NULL;
  const struct steg_image *payload = preview_payload (p, &error);

  opts.model = model;
  opts.device = gimp_procedure_config_get_choice_id (p->config, "device");
  opts.fit = gimp_procedure_config_get_choice_id (p->config, "fit");
  opts.channel = gimp_procedure_config_get_choice_id (p->config, "channel");
  steg_gimp_preview_show (p->steg, GIMP_PREVIEW (p->preview),
      GTK_LABEL (p->label), buffer, gimp_drawable_get_format (p->cover),
      gimp_drawable_has_alpha (p->cover), payload, error, &opts);
  g_clear_error (&error);
  g_object_unref (buffer);
  g_free (model);
}

static gboolean
hide_dialog (GimpProcedure * procedure, GimpProcedureConfig * config,
    GimpDrawable * cover)
{
  HidePreview p = { cover, config };
  GtkWidget *dialog, *note;
  gboolean ok;

  gimp_ui_init (PLUG_IN_BINARY);
  dialog = gimp_procedure_dialog_new (procedure, config, "Hide Layer in Image");
  p.preview = gimp_procedure_dialog_get_drawable_preview
      (GIMP_PROCEDURE_DIALOG (dialog), "preview", cover);
  p.label = gimp_procedure_dialog_get_label (GIMP_PROCEDURE_DIALOG (dialog),
      "preview-text", "", FALSE, FALSE);
  gtk_label_set_xalign (GTK_LABEL (p.label), 0.0);
  note = gimp_procedure_dialog_get_label (GIMP_PROCEDURE_DIALOG (dialog),
      "lossless-note", STEG_GIMP_LOSSLESS_NOTE, FALSE, FALSE);
  gtk_label_set_xalign (GTK_LABEL (note), 0.0);
  p.steg = steg_gimp_preview_new ();
  g_signal_connect_swapped (p.preview, "invalidated",
      G_CALLBACK (update_preview), &p);
  g_signal_connect_swapped (config, "notify",
      G_CALLBACK (gimp_preview_invalidate), p.preview);
  gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog), "preview",
      "preview-text", "payload-drawable", "payload-file", "channel", "fit",
      "model", "device", "lossless-note", NULL);
  ok = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  g_signal_handlers_disconnect_by_func (config,
      G_CALLBACK (gimp_preview_invalidate), p.preview);
  gtk_widget_destroy (dialog);
  steg_gimp_preview_free (p.steg);
  return ok;
}

static GimpValueArray *
hide_run (GimpProcedure * procedure, GimpRunMode run_mode, GimpImage * image,
    GimpDrawable ** drawables, GimpProcedureConfig * config,
    gpointer run_data)
{
  GimpDrawable *cover = single_drawable (drawables);
  GimpDrawable *payload_layer = NULL;
  GFile *payload_file = NULL;
  struct steg_image payload = { 0 };
  StegGimpOptions opts = { 0 };
  GeglBuffer *buffer, *shadow;
  gchar *model = NULL;
  GError *error = NULL;
  gboolean ok = FALSE;

  gegl_init (NULL, NULL);
  if (run_mode != GIMP_RUN_NONINTERACTIVE) {
    /* The documented workflow: the payload is another layer of this image. Last
     * time's choice stands only if it is still such a layer. */
    g_object_get (config, "payload-drawable", &payload_layer, NULL);
    if (!payload_layer || GIMP_DRAWABLE (payload_layer) == cover
        || gimp_item_get_image (GIMP_ITEM (payload_layer)) != image)
      g_object_set (config, "payload-drawable",
          default_payload_layer (image, cover), NULL);
    g_clear_object (&payload_layer);
  }
  if (run_mode == GIMP_RUN_INTERACTIVE && cover
      && !hide_dialog (procedure, config, cover))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);

  g_object_get (config, "payload-drawable", &payload_layer, "payload-file",
      &payload_file, NULL);
  if (names_no_file (payload_file))
    g_clear_object (&payload_file);
  if (!payload_layer && !payload_file) {
    payload_layer = default_payload_layer (image, cover);
    if (payload_layer)
      g_object_ref (payload_layer);
  }
  model = config_model (config);
  opts.model = model;
  opts.device = gimp_procedure_config_get_choice_id (config, "device");
  opts.fit = gimp_procedure_config_get_choice_id (config, "fit");
  opts.channel = gimp_procedure_config_get_choice_id (config, "channel");
  opts.progress = progress_cb;

  if (!check_rgb (cover, "cover layer", &error))
    goto done;
  if (payload_layer) {
    if (gimp_item_get_image (GIMP_ITEM (payload_layer)) != image) {
      g_set_error (&error, STEG_GIMP_ERROR, 0,
          "The payload layer belongs to another image. Copy it into this "
          "image as a layer, or hide it from its file instead.");
      goto done;
    }
    buffer = gimp_drawable_get_buffer (payload_layer);
    ok = steg_gimp_read (buffer, gimp_drawable_get_format (payload_layer),
        FALSE, FALSE, &payload, &error);
    g_object_unref (buffer);
    if (!ok)
      goto done;
  } else {
    gchar *path = payload_file ? g_file_get_path (payload_file) : NULL;
    if (path == NULL) {
      g_set_error (&error, STEG_GIMP_ERROR, 0,
          "Nothing to hide: this image has no other layer. Open the payload as "
          "a layer (File > Open as Layers...) or choose a payload image file.");
      ok = FALSE;
      goto done;
    }
    if (steg_image_load (path, 0, &payload) != STEG_OK) {
      g_set_error (&error, STEG_GIMP_ERROR, 0,
          "Could not read the payload image \"%s\": %s. Choose a payload layer "
          "or a PNG, JPEG or WebP file.", path ? path : "(none)",
          path ? steg_last_error () : "no file chosen");
      g_free (path);
      ok = FALSE;
      goto done;
    }
    g_free (path);
  }

  gimp_progress_init ("Hiding the payload");
  buffer = gimp_drawable_get_buffer (cover);
  shadow = gimp_drawable_get_shadow_buffer (cover);
  ok = steg_gimp_hide (buffer, shadow, gimp_drawable_get_format (cover),
      gimp_drawable_has_alpha (cover), &payload, &opts, &error);
  g_object_unref (shadow);
  g_object_unref (buffer);
  if (ok) {
    /* One undo step: GIMP keeps the old pixels when the shadow is merged. */
    gimp_drawable_merge_shadow (cover, TRUE);
    gimp_drawable_update (cover, 0, 0, gimp_drawable_get_width (cover),
        gimp_drawable_get_height (cover));
    if (run_mode != GIMP_RUN_NONINTERACTIVE)
      gimp_displays_flush ();
  }
  gimp_progress_end ();

done:
  steg_image_free (&payload);
  g_clear_object (&payload_layer);
  g_clear_object (&payload_file);
  g_free (model);
  if (!ok && error == NULL)
    g_set_error (&error, STEG_GIMP_ERROR, 0, "The payload could not be hidden.");
  return gimp_procedure_new_return_values (procedure,
      ok ? GIMP_PDB_SUCCESS : GIMP_PDB_EXECUTION_ERROR, ok ? NULL : error);
}

static GimpValueArray *
reveal_run (GimpProcedure * procedure, GimpRunMode run_mode,
    GimpImage * image, GimpDrawable ** drawables,
    GimpProcedureConfig * config, gpointer run_data)
{
  GimpDrawable *hybrid = single_drawable (drawables);
  StegGimpOptions opts = { 0 };
  struct steg_image gray = { 0 };
  GimpImage *new_image = NULL;
  GimpLayer *layer;
  GimpValueArray *ret;
  GeglBuffer *buffer;
  gchar *model;
  GError *error = NULL;
  gboolean as_layer, ok;
  gint x, y;

  gegl_init (NULL, NULL);
  if (run_mode == GIMP_RUN_INTERACTIVE
      && !run_dialog (procedure, config, "Reveal Hidden Image"))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);

  model = config_model (config);
  opts.model = model;
  opts.device = gimp_procedure_config_get_choice_id (config, "device");
  opts.progress = progress_cb;
  as_layer = gimp_procedure_config_get_choice_id (config, "output") == 1;

  if (!check_rgb (hybrid, "hybrid layer", &error)) {
    g_free (model);
    return gimp_procedure_new_return_values (procedure,
        GIMP_PDB_EXECUTION_ERROR, error);
  }
  gimp_progress_init ("Revealing the hidden image");
  buffer = gimp_drawable_get_buffer (hybrid);
  ok = steg_gimp_reveal (buffer, gimp_drawable_get_format (hybrid), &opts,
      &gray, &error);
  g_object_unref (buffer);
  gimp_progress_end ();
  g_free (model);
  if (!ok)
    return gimp_procedure_new_return_values (procedure,
        GIMP_PDB_EXECUTION_ERROR, error);

  if (as_layer) {
    gimp_image_undo_group_start (image);
    layer = gimp_layer_new (image, "Revealed payload", gray.width,
        gray.height, gimp_drawable_has_alpha (hybrid) ? GIMP_RGBA_IMAGE :
        GIMP_RGB_IMAGE, 100, GIMP_LAYER_MODE_NORMAL);
    gimp_image_insert_layer (image, layer, NULL, 0);
    gimp_drawable_get_offsets (hybrid, &x, &y);
    gimp_layer_set_offsets (layer, x, y);
  } else {
    /* The source's XCF, else the file it was imported from or last exported to. */
    GFile *source = gimp_image_get_file (image);
    gchar *path, *name;

    if (!source)
      source = gimp_image_get_imported_file (image);
    if (!source)
      source = gimp_image_get_exported_file (image);
    path = source ? g_file_get_path (source) : NULL;
    name = steg_gimp_revealed_name (path);
    new_image = gimp_image_new (gray.width, gray.height, GIMP_GRAY);
    gimp_image_undo_disable (new_image);
    if (name) {                 /* kodim23-revealed.xcf, not [Untitled] */
      GFile *file = g_file_new_for_path (name);
      gimp_image_set_file (new_image, file);
      g_object_unref (file);
    }
    g_clear_object (&source);
    g_free (name);
    g_free (path);
    layer = gimp_layer_new (new_image, "Revealed payload", gray.width,
        gray.height, GIMP_GRAY_IMAGE, 100, GIMP_LAYER_MODE_NORMAL);
    gimp_image_insert_layer (new_image, layer, NULL, 0);
  }
  buffer = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  steg_gimp_write_gray (buffer, &gray);
  g_object_unref (buffer);
  gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0, gray.width, gray.height);
  steg_image_free (&gray);
  if (as_layer) {
    gimp_image_undo_group_end (image);
  } else {
    gimp_image_undo_enable (new_image);
    if (run_mode != GIMP_RUN_NONINTERACTIVE)
      gimp_display_new (new_image);
  }
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();

  ret = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_IMAGE (ret, 1, new_image);
  GIMP_VALUES_SET_LAYER (ret, 2, layer);
  return ret;
}

static GList *
steg_gimp_query_procedures (GimpPlugIn * plug_in)
{
  /* The dialogs' Help button opens docs/gimp.md, installed as HTML. */
  gchar *help_uri = steg_gimp_help_uri ();

  if (help_uri) {
    GFile *folder = g_file_new_for_uri (help_uri);
    gimp_plug_in_set_help_domain (plug_in, STEG_GIMP_HELP_DOMAIN, folder);
    g_object_unref (folder);
  }
  g_free (help_uri);
  return g_list_append (g_list_append (NULL, g_strdup (HIDE_PROC)),
      g_strdup (REVEAL_PROC));
}

static GimpProcedure *
steg_gimp_create_procedure (GimpPlugIn * plug_in, const gchar * name)
{
  GimpProcedure *procedure = NULL;

  if (strcmp (name, HIDE_PROC) == 0) {
    procedure = gimp_image_procedure_new (plug_in, name,
        GIMP_PDB_PROC_TYPE_PLUGIN, hide_run, NULL, NULL);
    gimp_procedure_set_menu_label (procedure, "_Hide Layer in Image...");
    gimp_procedure_set_documentation (procedure,
        "Hide a gray image in this layer with a trained CNN (8 bits per pixel)",
        "Hides another layer of the image, or an image file, in the selected "
        "layer with steg's CNN encoder (Rehman et al. 2017). The payload becomes "
        "one gray channel fitted to the layer; the layer looks almost unchanged. "
        "Export the result as PNG or lossless WebP: JPEG costs the payload 2-4 dB at best.", name);
    gimp_procedure_add_drawable_argument (procedure, "payload-drawable",
        "Payload _layer", "A layer of the same image to hide (none: hide the "
        "payload file)", TRUE, G_PARAM_READWRITE);
    gimp_procedure_add_file_argument (procedure, "payload-file",
        "Or payload _file", "An image file (PNG, JPEG or WebP) to hide when no "
        "payload layer is chosen", GIMP_FILE_CHOOSER_ACTION_OPEN, TRUE, NULL,
        G_PARAM_READWRITE);
    add_choice (procedure, STEG_PARAM_CHANNEL, "channel", "_Channel");
    add_choice (procedure, STEG_PARAM_FIT, "fit", "_Fit");
    add_model (procedure);
  } else if (strcmp (name, REVEAL_PROC) == 0) {
    GimpChoice *output = gimp_choice_new_with_values ("image", 0,
        "New image", NULL, "layer", 1, "New layer", NULL, NULL);
    procedure = gimp_image_procedure_new (plug_in, name,
        GIMP_PDB_PROC_TYPE_PLUGIN, reveal_run, NULL, NULL);
    gimp_procedure_set_menu_label (procedure, "_Reveal Hidden Image...");
    gimp_procedure_set_documentation (procedure,
        "Recover the image hidden in this layer",
        "Runs steg's CNN decoder on the selected layer and opens the hidden "
        "image as a new grayscale image (or adds it as a new layer).", name);
    add_model (procedure);
    gimp_procedure_add_choice_argument (procedure, "output", "_Open as",
        "image: a new grayscale image; layer: a new layer on top", output,
        "image", G_PARAM_READWRITE);
    gimp_procedure_add_image_return_value (procedure, "new-image",
        "New image", "The new image (none when the output is a layer)", TRUE,
        G_PARAM_READWRITE);
    gimp_procedure_add_layer_return_value (procedure, "new-layer",
        "New layer", "The layer holding the revealed payload", FALSE,
        G_PARAM_READWRITE);
  }
  if (procedure) {
    gimp_procedure_set_image_types (procedure, "RGB*");
    gimp_procedure_set_sensitivity_mask (procedure,
        GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
    gimp_procedure_add_menu_path (procedure, MENU_PATH);
    gimp_procedure_set_attribution (procedure, "steg developers",
        "the steg authors, MIT licence", "2026");
  }
  return procedure;
}

/* The filter ships no translations (yet): tell GIMP not to look for a catalog. */
static gboolean
steg_gimp_set_i18n (GimpPlugIn * plug_in, const gchar * procedure_name,
    gchar ** gettext_domain, gchar ** catalog_dir)
{
  return FALSE;
}

static void
steg_gimp_class_init (StegGimpClass * klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = steg_gimp_query_procedures;
  plug_in_class->create_procedure = steg_gimp_create_procedure;
  plug_in_class->set_i18n = steg_gimp_set_i18n;
}

static void
steg_gimp_init (StegGimp * self)
{
}
