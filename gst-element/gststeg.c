/* SPDX-License-Identifier: MIT */
/* gststeg.c - the GStreamer plugin "steg": registers stegembed and stegreveal. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gststegembed.h"
#include "gststegreveal.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (stegembed, plugin);
  ret |= GST_ELEMENT_REGISTER (stegreveal, plugin);
  return ret;
}

/* MIT, which GStreamer spells "MIT/X11" (LICENSE). The library file must be named
 * libgststeg.so for this name. */
GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, steg,
    "Deep image steganography: hide an image in video frames and reveal it",
    plugin_init, STEG_GST_VERSION, "MIT/X11", "steg", "steg")
