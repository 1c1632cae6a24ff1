/* SPDX-License-Identifier: MIT */
/* A plain C program built against an installed libsteg (by tests/install-test.sh):
 * proves steg.h is valid C and that pkg-config and the CMake package work. */
#include <steg.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    const struct steg_param_spec * fit = steg_param_get(STEG_PARAM_FIT);
    const char *                   model = steg_default_model_path();
    struct steg_image              img;
    if (steg_image_alloc(&img, 4, 4, STEG_FORMAT_RGB8) != STEG_OK || strcmp(fit->name, "fit") != 0) {
        fprintf(stderr, "consumer: %s\n", steg_last_error());
        return 1;
    }
    steg_image_free(&img);
    printf("libsteg %s, default model: %s\n", steg_version(), model ? model : "(none)");
    return 0;
}
