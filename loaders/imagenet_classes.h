/* imagenet_classes.h — the ImageNet class names torchvision's weights use (generated data). */
#ifndef DC_LOADERS_IMAGENET_CLASSES_H
#define DC_LOADERS_IMAGENET_CLASSES_H

#define DC_IMAGENET_CLASSES 1000

extern const char *const dc_imagenet_classes[DC_IMAGENET_CLASSES];

#endif /* DC_LOADERS_IMAGENET_CLASSES_H */
