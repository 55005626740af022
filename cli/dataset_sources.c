/*
 * dataset_sources.c — the datasets `dualcnn fetch` knows: where the official files are,
 * their checksums, how they become what `dualcnn run -i` reads, or why they cannot be
 * fetched. docs/fetch.md, "Datasets", says where each checksum comes from.
 */
#include "cli/fetch.h"

#include <string.h>

/* CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): the MD5 is the
 * one the page lists; the SHA-256 is that of the same 170,052,171-byte file as several
 * independent projects record it beside that MD5. */
static const cli_dataset_file cifar10_files[] = {
    { "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
      "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd", NULL, NULL },
};

/* Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist): the MD5s are those of
 * its README and of torchvision's FashionMNIST.resources; the SHA-256s are those of the
 * same files. Debian's dataset-fashion-mnist ships them with their gzip headers rewritten
 * (strip-nondeterminism dropped the file name and set the time): the same compressed data
 * and CRC, other bytes, so their SHA-256s are accepted too. */
#define FM_DEBIAN "Debian's dataset-fashion-mnist copy (same data, gzip header rewritten)"
static const cli_dataset_file fashionmnist_files[] = {
    { "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
      "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
      "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", FM_DEBIAN },
    { "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe",
      "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
      "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", FM_DEBIAN },
    { "t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79",
      "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
      "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", FM_DEBIAN },
    { "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310",
      "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
      "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", FM_DEBIAN },
};

#define MIB (1024ULL * 1024)

static const cli_dataset_source sources[] = {
    {
        .name = "cifar10",
        .title = "CIFAR-10, binary version",
        .base_url = "https://www.cs.toronto.edu/~kriz/",
        .files = cifar10_files,
        .n_files = 1,
        .archive = true,
        .max_unpacked = 256 * MIB, /* it holds 184 MB: six batches of 30,730,000 bytes */
        .max_members = 64,         /* it holds fewer than ten */
        .max_download = 1024 * MIB,
        .run_flags = "-m1 resnet20 -m2 resnet56 -t 0.5",
    },
    {
        .name = "fashionmnist",
        .title = "Fashion-MNIST, IDX files",
        .base_url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        .files = fashionmnist_files,
        .n_files = 4,
        .max_download = 256 * MIB,
        .run_flags = "-m1 resnet20 -m2 resnet56 -D fashionmnist -t 0.5",
    },
    {
        .name = "imagenet",
        .why_not = "ImageNet cannot be fetched: its licence gives the images to registered "
                   "users only (a login at image-net.org). Sort the validation images into "
                   "one folder per class (the 1000 synset folders, n01440764/ ...) and "
                   "point `dualcnn run -i` at that tree, or at a directory holding it as "
                   "val/",
    },
    {
        .name = "intel",
        .why_not = "Intel Image Classification cannot be fetched: it is on Kaggle, behind "
                   "a login (kaggle.com/datasets/puneet6060/intel-image-classification). "
                   "Unzip it and point `dualcnn run -i` at the directory holding seg_train/ "
                   "and seg_test/",
    },
};

const cli_dataset_source *cli_dataset_source_find(const char *name)
{
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (strcmp(sources[i].name, name) == 0)
            return &sources[i];
    return NULL;
}

const char *cli_dataset_source_names(void)
{
    return "cifar10, fashionmnist (fetched); imagenet, intel (put in place by hand)";
}
