/* raytrace: a small Whitted-style ray tracer in double precision.
 *
 * Renders a fixed scene (a checkered ground plane, a back wall, nine
 * spheres of which some are mirrors, two point lights with hard shadows,
 * Phong highlights, reflections up to depth 5, 2x2 supersampling) at
 * WIDTH x HEIGHT, writes it as a binary PPM to DIR/raytrace.ppm, reads the
 * file back to check it, and prints an FNV-1a hash of the pixels and the
 * mean of each channel.  Exits 0 on success.
 *
 * Usage: raytrace [DIR]   (DIR defaults to /sandbox)
 *
 * Only + - * / and sqrt are used on doubles (no other libm function), and
 * each is correctly rounded under IEEE 754, so the image is bit-identical
 * under any C implementation that does not contract into fused
 * multiply-adds (build natively with -ffp-contract=off to compare).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 320
#define HEIGHT 240
#define SAMPLES 2 /* per axis */
#define MAX_DEPTH 5

static void die(const char *what) {
    printf("FAIL: %s\n", what);
    exit(1);
}

typedef struct {
    double x, y, z;
} vec;

static inline vec v3(double x, double y, double z) { return (vec){x, y, z}; }
static inline vec add(vec a, vec b) { return v3(a.x + b.x, a.y + b.y, a.z + b.z); }
static inline vec sub(vec a, vec b) { return v3(a.x - b.x, a.y - b.y, a.z - b.z); }
static inline vec scale(vec a, double s) { return v3(a.x * s, a.y * s, a.z * s); }
static inline vec mul(vec a, vec b) { return v3(a.x * b.x, a.y * b.y, a.z * b.z); }
static inline double dot(vec a, vec b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
static inline vec cross(vec a, vec b) {
    return v3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
static inline vec norm(vec a) { return scale(a, 1.0 / sqrt(dot(a, a))); }

typedef struct {
    vec color;
    double diffuse, specular, shininess, reflect;
    int checker; /* 0 plain, else checker with color2 */
    vec color2;
} material;

typedef struct {
    vec center;
    double radius;
    material m;
} sphere;

typedef struct {
    vec normal;
    double offset; /* dot(p, normal) == offset */
    material m;
} plane;

typedef struct {
    vec pos, color;
} light;

#define NSPHERES 9
static sphere spheres[NSPHERES];
static plane planes[2];
static light lights[2];
static const vec ambient = {0.08, 0.08, 0.1};
static const vec sky_top = {0.25, 0.45, 0.85}, sky_bottom = {0.9, 0.9, 1.0};

static void build_scene(void) {
    material mirror = {{0.9, 0.9, 0.95}, 0.1, 0.9, 200, 0.8, 0, {0, 0, 0}};
    material red = {{0.9, 0.15, 0.1}, 0.8, 0.5, 40, 0.15, 0, {0, 0, 0}};
    material green = {{0.15, 0.8, 0.25}, 0.8, 0.3, 20, 0.05, 0, {0, 0, 0}};
    material blue = {{0.15, 0.3, 0.9}, 0.7, 0.7, 80, 0.3, 0, {0, 0, 0}};
    material gold = {{0.95, 0.75, 0.25}, 0.6, 0.9, 120, 0.45, 0, {0, 0, 0}};
    material floor = {{0.9, 0.9, 0.9}, 0.9, 0.1, 10, 0.2, 1, {0.15, 0.15, 0.15}};
    material wall = {{0.7, 0.65, 0.6}, 0.9, 0.0, 1, 0.0, 0, {0, 0, 0}};
    spheres[0] = (sphere){{0, 1, 6}, 1, mirror};
    spheres[1] = (sphere){{-2.2, 0.7, 5}, 0.7, red};
    spheres[2] = (sphere){{2.1, 0.8, 5.2}, 0.8, blue};
    spheres[3] = (sphere){{-1, 0.35, 3.6}, 0.35, gold};
    spheres[4] = (sphere){{1.1, 0.3, 3.4}, 0.3, green};
    spheres[5] = (sphere){{0.1, 0.25, 3.0}, 0.25, mirror};
    spheres[6] = (sphere){{-3.5, 1.5, 8}, 1.5, green};
    spheres[7] = (sphere){{3.6, 1.2, 8.5}, 1.2, gold};
    spheres[8] = (sphere){{0.0, 2.6, 7.5}, 0.5, red};
    planes[0] = (plane){{0, 1, 0}, 0, floor};
    planes[1] = (plane){{0, 0, -1}, -12, wall};
    lights[0] = (light){{-4, 6, 1}, {0.8, 0.8, 0.75}};
    lights[1] = (light){{5, 4, 3}, {0.45, 0.45, 0.55}};
}

typedef struct {
    double t;
    vec point, normal;
    const material *m;
} hit;

#define EPS 1e-7

static int intersect(vec o, vec d, double tmax, hit *h) {
    int found = 0;
    h->t = tmax;
    for (int i = 0; i < NSPHERES; i++) {
        const sphere *s = &spheres[i];
        vec oc = sub(o, s->center);
        double b = dot(oc, d);
        double c = dot(oc, oc) - s->radius * s->radius;
        double disc = b * b - c;
        if (disc < 0)
            continue;
        double sq = sqrt(disc);
        double t = -b - sq;
        if (t < EPS)
            t = -b + sq;
        if (t > EPS && t < h->t) {
            h->t = t;
            h->point = add(o, scale(d, t));
            h->normal = scale(sub(h->point, s->center), 1.0 / s->radius);
            h->m = &s->m;
            found = 1;
        }
    }
    for (int i = 0; i < 2; i++) {
        const plane *p = &planes[i];
        double denom = dot(d, p->normal);
        if (denom > -1e-12 && denom < 1e-12)
            continue;
        double t = (p->offset - dot(o, p->normal)) / denom;
        if (t > EPS && t < h->t) {
            h->t = t;
            h->point = add(o, scale(d, t));
            h->normal = denom < 0 ? p->normal : scale(p->normal, -1);
            h->m = &p->m;
            found = 1;
        }
    }
    return found;
}

static int occluded(vec o, vec d, double dist) {
    hit h;
    return intersect(o, d, dist, &h);
}

static double ipow(double x, int n) {
    double r = 1;
    while (n) {
        if (n & 1)
            r *= x;
        x *= x;
        n >>= 1;
    }
    return r;
}

static vec trace(vec o, vec d, int depth) {
    hit h;
    if (!intersect(o, d, 1e30, &h)) {
        double k = 0.5 * (d.y + 1);
        return add(scale(sky_bottom, 1 - k), scale(sky_top, k));
    }
    const material *m = h.m;
    vec base = m->color;
    if (m->checker) {
        /* floor() without libm: the scene stays within |x|,|z| < 1e6 */
        long ix = (long)(h.point.x + 1e6), iz = (long)(h.point.z + 1e6);
        if ((ix + iz) & 1)
            base = m->color2;
    }
    vec p = add(h.point, scale(h.normal, 1e-6));
    vec color = mul(base, ambient);
    for (int i = 0; i < 2; i++) {
        vec to_light = sub(lights[i].pos, p);
        double dist = sqrt(dot(to_light, to_light));
        vec l = scale(to_light, 1.0 / dist);
        double nl = dot(h.normal, l);
        if (nl <= 0 || occluded(p, l, dist))
            continue;
        color = add(color, scale(mul(base, lights[i].color), m->diffuse * nl));
        if (m->specular > 0) {
            vec r = sub(scale(h.normal, 2 * nl), l);
            double rv = -dot(r, d);
            if (rv > 0)
                color = add(color, scale(lights[i].color, m->specular * ipow(rv, (int)m->shininess)));
        }
    }
    if (m->reflect > 0 && depth < MAX_DEPTH) {
        vec r = sub(d, scale(h.normal, 2 * dot(d, h.normal)));
        vec rc = trace(p, norm(r), depth + 1);
        color = add(scale(color, 1 - m->reflect), scale(rc, m->reflect));
    }
    return color;
}

static uint8_t to_byte(double c) {
    if (c < 0)
        c = 0;
    /* a simple tone curve: c / (1 + c) stretched so that 1.0 maps near 235 */
    double v = 255.0 * (c * 1.85) / (1.0 + c * 0.85);
    if (v > 255)
        v = 255;
    return (uint8_t)(v + 0.5 > 255 ? 255 : v + 0.5);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/sandbox";
    char path[512];
    snprintf(path, sizeof path, "%s/raytrace.ppm", dir);
    build_scene();

    vec eye = {0, 1.6, -1.5}, target = {0, 0.9, 5};
    vec forward = norm(sub(target, eye));
    vec right = norm(cross(v3(0, 1, 0), forward));
    vec up = cross(forward, right);
    double half_w = 0.62, half_h = half_w * HEIGHT / WIDTH;

    uint8_t *pixels = malloc((size_t)WIDTH * HEIGHT * 3);
    if (!pixels)
        die("malloc");
    double sums[3] = {0, 0, 0};
    for (int y = 0; y < HEIGHT; y++) {
        for (int x = 0; x < WIDTH; x++) {
            vec acc = {0, 0, 0};
            for (int sy = 0; sy < SAMPLES; sy++) {
                for (int sx = 0; sx < SAMPLES; sx++) {
                    double u = ((x + (sx + 0.5) / SAMPLES) / WIDTH * 2 - 1) * half_w;
                    double v = (1 - (y + (sy + 0.5) / SAMPLES) / HEIGHT * 2) * half_h;
                    vec d = norm(add(forward, add(scale(right, u), scale(up, v))));
                    acc = add(acc, trace(eye, d, 0));
                }
            }
            acc = scale(acc, 1.0 / (SAMPLES * SAMPLES));
            uint8_t *px = pixels + ((size_t)y * WIDTH + x) * 3;
            px[0] = to_byte(acc.x);
            px[1] = to_byte(acc.y);
            px[2] = to_byte(acc.z);
            sums[0] += px[0];
            sums[1] += px[1];
            sums[2] += px[2];
        }
    }

    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < (size_t)WIDTH * HEIGHT * 3; i++) {
        hash ^= pixels[i];
        hash *= 16777619u;
    }

    FILE *f = fopen(path, "wb");
    if (!f)
        die("fopen for writing");
    fprintf(f, "P6\n%d %d\n255\n", WIDTH, HEIGHT);
    if (fwrite(pixels, 1, (size_t)WIDTH * HEIGHT * 3, f) != (size_t)WIDTH * HEIGHT * 3 ||
        fclose(f) != 0)
        die("writing the image");

    f = fopen(path, "rb");
    if (!f)
        die("fopen for reading");
    int w = 0, hgt = 0, maxval = 0;
    if (fscanf(f, "P6 %d %d %d", &w, &hgt, &maxval) != 3 || w != WIDTH || hgt != HEIGHT ||
        maxval != 255 || fgetc(f) != '\n')
        die("image header");
    uint8_t *back = malloc((size_t)WIDTH * HEIGHT * 3);
    if (!back || fread(back, 1, (size_t)WIDTH * HEIGHT * 3, f) != (size_t)WIDTH * HEIGHT * 3 ||
        memcmp(back, pixels, (size_t)WIDTH * HEIGHT * 3) != 0)
        die("image read back differs");
    fclose(f);

    printf("image %dx%d, %d samples per pixel\n", WIDTH, HEIGHT, SAMPLES * SAMPLES);
    printf("pixels fnv1a %08x\n", (unsigned)hash);
    printf("mean r %.4f g %.4f b %.4f\n", sums[0] / (WIDTH * HEIGHT), sums[1] / (WIDTH * HEIGHT),
           sums[2] / (WIDTH * HEIGHT));
    free(pixels);
    free(back);
    return 0;
}
