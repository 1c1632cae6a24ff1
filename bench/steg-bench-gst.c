/* SPDX-License-Identifier: MIT */
/* steg-bench-gst - frames per second of stegembed and stegreveal in a real pipeline
 * (videotestsrc ! stegembed ! fakesink sync=false), next to libsteg's own steg_hide /
 * steg_reveal time for frames of the same size, so the element's overhead shows.
 * Prints one JSON object per measurement; overhead_pct is the element's time less
 * the same pipeline's time with `identity` in its place (the test source and the
 * sink), over libsteg's time. With --rounds N the three are timed one after the other
 * N times; each figure is then the median of its rounds, and overhead_pct the median
 * of the rounds' own overheads (each from times taken a few seconds apart, which a
 * machine whose speed drifts needs), with their range.
 *
 *   steg-bench-gst [--sizes 640x480,1920x1080] [--frames N] [--threads N] [--rounds N]
 *
 * Needs GST_PLUGIN_PATH to reach libgststeg.so (bench/run sets it). The pipeline's
 * time runs from the first frame that reaches the sink to the last, so model loading
 * and the first call's warm-up are left out, as they are for libsteg.
 */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <steg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  gint64 first, last;
  gint count;
} Handoffs;

static void
on_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad, gpointer data)
{
  Handoffs *h = data;
  gint64 t = g_get_monotonic_time ();

  if (h->count++ == 0)
    h->first = t;
  h->last = t;
}

/* Milliseconds per frame of `element` in a pipeline, not counting the first frame. */
static double
pipeline_ms (const char *element, int w, int h, int frames, int threads,
    const char *payload)
{
  gchar *threads_prop = threads >= 0 ? g_strdup_printf ("threads=%d", threads)
      : g_strdup ("");
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=%d pattern=snow ! "
      "video/x-raw,format=RGB,width=%d,height=%d,framerate=30/1 ! "
      "%s %s %s%s ! fakesink name=sink sync=false signal-handoffs=true",
      frames + 1, w, h, element, threads_prop, payload ? "payload=" : "",
      payload ? payload : "");
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &err);
  GstElement *sink;
  GstMessage *msg;
  Handoffs hand = { 0, 0, 0 };
  double ms = -1;

  if (!pipeline) {
    fprintf (stderr, "steg-bench-gst: %s\n", err ? err->message : desc);
    exit (1);
  }
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), &hand);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      GST_CLOCK_TIME_NONE, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, &err, NULL);
    fprintf (stderr, "steg-bench-gst: %s\n", err->message);
    exit (1);
  }
  if (hand.count > 1)
    ms = (hand.last - hand.first) / 1000.0 / (hand.count - 1);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (desc);
  g_free (threads_prop);
  return ms;
}

static void
noise (struct steg_image *img, guint32 seed)
{
  size_t n = (size_t) img->width * img->height * steg_format_channels
      (img->format), i;
  GRand *r = g_rand_new_with_seed (seed);
  for (i = 0; i < n; i++)
    img->data[i] = (uint8_t) g_rand_int (r);
  g_rand_free (r);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* The median of v[0..n), which it sorts. */
static double
median (double *v, int n)
{
  qsort (v, n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Milliseconds per frame of libsteg's own call, after one warm-up call. */
static double
libsteg_ms (struct steg_context *ctx, gboolean hide, int w, int h, int frames)
{
  struct steg_image cover, payload;
  gint64 t0 = 0;
  int i;

  steg_image_alloc (&cover, w, h, STEG_FORMAT_RGB8);
  steg_image_alloc (&payload, w, h, STEG_FORMAT_GRAY8);
  noise (&cover, 1);
  noise (&payload, 2);
  for (i = 0; i <= frames; i++) {
    if (i == 1)
      t0 = g_get_monotonic_time ();
    if ((hide ? steg_hide (ctx, &cover, &payload, &cover)
            : steg_reveal (ctx, &cover, &payload)) != STEG_OK) {
      fprintf (stderr, "steg-bench-gst: %s\n", steg_last_error ());
      exit (1);
    }
  }
  steg_image_free (&cover);
  steg_image_free (&payload);
  return (g_get_monotonic_time () - t0) / 1000.0 / frames;
}

int
main (int argc, char **argv)
{
  const char *sizes = "640x480,1920x1080";
  const char *usage = "usage: steg-bench-gst [--sizes WxH,...] [--frames N] "
      "[--threads N] [--rounds N]\n";
  int frames = 0, threads = 0, rounds = 1, i;
  struct steg_context_params params = steg_context_default_params ();
  struct steg_context *ctx;
  struct steg_image payload;
  gchar *dir, *payload_path, **list;
  GError *err = NULL;

  for (i = 1; i < argc; i += 2) {
    if (!strcmp (argv[i], "--help") || !strcmp (argv[i], "-h")) {
      fputs (usage, stdout);
      return 0;
    }
    if (i + 1 == argc) {
      fprintf (stderr, "steg-bench-gst: %s needs a value\n%s", argv[i], usage);
      return 2;
    }
    if (!strcmp (argv[i], "--sizes"))
      sizes = argv[i + 1];
    else if (!strcmp (argv[i], "--frames"))
      frames = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--threads"))
      threads = atoi (argv[i + 1]);
    else if (!strcmp (argv[i], "--rounds"))
      rounds = atoi (argv[i + 1]);
    else {
      fputs (usage, stderr);
      return 2;
    }
  }
  if (rounds < 1 || rounds > 100) {
    fprintf (stderr, "steg-bench-gst: --rounds takes a count from 1 to 100\n");
    return 2;
  }
  gst_init (&argc, &argv);
  params.device = STEG_DEVICE_CPU;
  params.n_threads = threads;
  ctx = steg_init_from_file (steg_default_model_path (), params);
  if (!ctx) {
    fprintf (stderr, "steg-bench-gst: %s\n", steg_last_error ());
    return 1;
  }

  /* The element's payload: a noise PNG, fitted once per size. */
  dir = g_dir_make_tmp ("steg-bench-XXXXXX", &err);
  if (!dir) {
    fprintf (stderr, "steg-bench-gst: %s\n", err->message);
    return 1;
  }
  payload_path = g_build_filename (dir, "payload.png", NULL);
  steg_image_alloc (&payload, 300, 300, STEG_FORMAT_GRAY8);
  noise (&payload, 3);
  if (steg_image_save (payload_path, &payload, 0) != STEG_OK) {
    fprintf (stderr, "steg-bench-gst: %s\n", steg_last_error ());
    return 1;
  }
  steg_image_free (&payload);

  list = g_strsplit (sizes, ",", -1);
  for (i = 0; list[i]; i++) {
    int w, h, n, k;
    if (sscanf (list[i], "%dx%d", &w, &h) != 2)
      continue;
    for (k = 0; k < 2; k++) {
      gboolean hide = k == 0;
      double probe, lib[100], el[100], base[100], over[100], lo, hi, el_ms;
      int r;
      /* About 4 s of work per measurement. */
      probe = libsteg_ms (ctx, hide, w, h, 1);
      n = frames > 0 ? frames : CLAMP ((int) (4000 / probe), 5, 100);
      for (r = 0; r < rounds; r++) {
        el[r] = pipeline_ms (hide ? "stegembed" : "stegreveal", w, h, n,
            threads, hide ? payload_path : NULL);
        lib[r] = libsteg_ms (ctx, hide, w, h, n);
        /* The same pipeline without our element: the test source and the sink. */
        base[r] = pipeline_ms ("identity", w, h, n, -1, NULL);
        over[r] = 100.0 * (el[r] - base[r] - lib[r]) / lib[r];
      }
      lo = hi = over[0];
      for (r = 1; r < rounds; r++) {
        lo = MIN (lo, over[r]);
        hi = MAX (hi, over[r]);
      }
      el_ms = median (el, rounds);
      printf ("{\"what\": \"%s\", \"size\": \"%dx%d\", \"frames\": %d, "
          "\"rounds\": %d, \"element_ms\": %.1f, \"element_fps\": %.2f, "
          "\"pipeline_base_ms\": %.1f, \"libsteg_ms\": %.1f, "
          "\"overhead_pct\": %.1f, \"overhead_pct_range\": [%.1f, %.1f]}\n",
          hide ? "stegembed" : "stegreveal", w, h, n, rounds, el_ms,
          1000.0 / el_ms, median (base, rounds),
          median (lib, rounds), median (over, rounds), lo, hi);
      fflush (stdout);
    }
  }
  g_strfreev (list);
  steg_free (ctx);
  g_unlink (payload_path);
  g_rmdir (dir);
  g_free (payload_path);
  g_free (dir);
  return 0;
}
