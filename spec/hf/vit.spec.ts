// HF ViT (TFViTForImageClassification) through the real tensorflowjs_converter.
import { describeHfFixture } from './hf_fixture';

describeHfFixture('vit-small', { architecture: 'vit', protectedTokens: 1, tokenCount: 65, blocks: 4 });
