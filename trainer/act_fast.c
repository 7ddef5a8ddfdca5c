/* act_fast.c - see act_fast.h. Built with -ffast-math (trainer/CMakeLists.txt):
 * no infinities may appear, so arguments are clamped into expf's range. */
#include "act_fast.h"

#include <math.h>

void mt_vsigm(float *x, int n)
{
    for (int i = 0; i < n; i++) {
        float v = x[i] < -88.0f ? -88.0f : x[i] > 88.0f ? 88.0f : x[i];
        x[i] = 1.0f / (1.0f + expf(-v));
    }
}

void mt_vtanh(float *x, int n)
{
    for (int i = 0; i < n; i++) {
        float v = x[i] < -40.0f ? -40.0f : x[i] > 40.0f ? 40.0f : x[i];
        x[i] = tanhf(v);
    }
}

float mt_vexp_sum(float *x, float shift, int n)
{
    float sum = 0;
    for (int i = 0; i < n; i++) {
        float v = x[i] - shift;
        v = v < -88.0f ? -88.0f : v;
        x[i] = expf(v);
        sum += x[i];
    }
    return sum;
}
